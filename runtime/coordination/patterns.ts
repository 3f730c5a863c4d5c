/**
 * The seed's patterns of agent-to-agent work, as small helpers over asks and tasks:
 *
 *   - hand-off: a piece of work passes from agent to agent, each receiving the previous one's
 *     reply (`handOff`); the trail says who held it and for how long, and a failure names the
 *     stage where the work stopped.
 *   - parallel work: fan-out to branches and fan-in of their results (`fanOut`, over asks
 *     `fanOutAsks` or durable tasks `fanOutTasks`); a failing branch is a result, not an
 *     exception, unless fewer than `minSuccesses` succeed.
 *   - iterative refinement: draft, review, revise until the reviewer accepts or the rounds run
 *     out (`refine`); every round is kept.
 */
import type { Messaging, Target } from "../agent/mod.ts"

/** An agent taking part: its type (or definition) and id; the tenant defaults to the asker's. */
export interface Participant {
  readonly agent: { readonly type: string } | string
  readonly id: string
  readonly tenant?: string
}

function targetOf(p: Participant): Target {
  return { agent: typeof p.agent === "string" ? p.agent : p.agent.type, id: p.id, ...(p.tenant ? { tenant: p.tenant } : {}) }
}
import type { TaskEngine, TaskInput } from "../tasks/mod.ts"
import { askerOf, type Asking } from "./consensus.ts"
import { CoordinationError, errorText } from "./ports.ts"

export interface BranchResult<T> {
  readonly index: number
  readonly ok: boolean
  readonly value?: T
  readonly error?: string
  readonly ms: number
}

export interface FanIn<T> {
  /** Every branch, in the order given. */
  readonly results: ReadonlyArray<BranchResult<T>>
  /** The successful values, in branch order. */
  readonly values: ReadonlyArray<T>
  readonly failures: ReadonlyArray<BranchResult<T>>
}

export interface FanOutOptions {
  /** Branches running at once (default: all). */
  readonly concurrency?: number
  /** Per branch: past it the branch fails with `timeout` (its signal is aborted). */
  readonly timeoutMs?: number
  /** Fewer successes than this fails the whole fan-out (`failed`, the FanIn in `details`). Default 0. */
  readonly minSuccesses?: number
}

/** Runs the branches (at most `concurrency` at once) and gathers every outcome. */
export async function fanOut<T>(branches: ReadonlyArray<(signal: AbortSignal) => T | Promise<T>>, options: FanOutOptions = {}): Promise<FanIn<T>> {
  const limit = Math.max(1, Math.min(options.concurrency ?? branches.length, branches.length))
  const results: Array<BranchResult<T>> = new Array(branches.length)
  let next = 0
  const runOne = async (index: number): Promise<BranchResult<T>> => {
    const started = Date.now()
    const abort = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout =
      options.timeoutMs === undefined
        ? undefined
        : new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              abort.abort(new Error("timeout"))
              reject(new Error(`branch ${index} timed out after ${options.timeoutMs} ms`))
            }, options.timeoutMs)
          })
    try {
      const run = Promise.resolve().then(() => branches[index]!(abort.signal))
      const value = await (timeout ? Promise.race([run, timeout]) : run)
      return { index, ok: true, value, ms: Date.now() - started }
    } catch (e) {
      return { index, ok: false, error: errorText(e), ms: Date.now() - started }
    } finally {
      clearTimeout(timer)
    }
  }
  const worker = async () => {
    while (next < branches.length) {
      const i = next++
      results[i] = await runOne(i)
    }
  }
  await Promise.all(Array.from({ length: limit }, worker))
  const fanIn: FanIn<T> = { results, values: results.filter((r) => r.ok).map((r) => r.value as T), failures: results.filter((r) => !r.ok) }
  const min = options.minSuccesses ?? 0
  if (fanIn.values.length < min) {
    throw new CoordinationError("failed", `fan-out: ${fanIn.values.length} of ${branches.length} branches succeeded, ${min} needed (first failure: ${fanIn.failures[0]?.error})`, { details: fanIn })
  }
  return fanIn
}

/** Asks every target the same tag; `message` may depend on the target. */
export function fanOutAsks(
  deps: Asking,
  targets: ReadonlyArray<Participant>,
  tag: string,
  message: unknown | ((target: Participant, index: number) => unknown),
  options: FanOutOptions = {},
): Promise<FanIn<unknown>> {
  const asker = askerOf(deps)
  const timeoutMs = options.timeoutMs
  return fanOut(
    targets.map((t, i) => () => asker.ask(targetOf(t), tag, typeof message === "function" ? (message as (t: Participant, i: number) => unknown)(t, i) : message, timeoutMs === undefined ? {} : { timeoutMs })),
    options,
  )
}

/**
 * Submits one durable task per payload to `capability` and gathers their results: a task that
 * ends dead-lettered is a failed branch (its reason and last error). Give `key` for
 * idempotency keys (`<key>-<index>`), so a fan-out retried after a crash stores no task twice.
 */
export function fanOutTasks(
  tasks: Pick<TaskEngine, "submit" | "waitForStatus">,
  capability: string,
  payloads: ReadonlyArray<unknown>,
  options: FanOutOptions & { readonly key?: string; readonly priority?: TaskInput["priority"] } = {},
): Promise<FanIn<unknown>> {
  const waitMs = options.timeoutMs ?? 60_000
  return fanOut(
    payloads.map((payload, i) => async () => {
      const { id } = await tasks.submit({
        capability,
        payload,
        ...(options.key ? { idempotencyKey: `${options.key}-${i}` } : {}),
        ...(options.priority ? { priority: options.priority } : {}),
      })
      const rec = await tasks.waitForStatus(id, { timeoutMs: waitMs })
      if (rec.state !== "completed") throw new Error(`task ${id} ${rec.state}${rec.reason ? ` (${rec.reason})` : ""}: ${rec.lastError ?? "no result"}`)
      return rec.result
    }),
    { ...options, timeoutMs: undefined },
  )
}

export interface HandOffStage {
  readonly agent: { readonly type: string } | string
  readonly id: string
  readonly tag: string
  /** Ask timeout of this stage (default the messaging's, 5 s). */
  readonly timeoutMs?: number
  /** Shapes the message for this stage from the previous reply (default: the reply as is). */
  readonly map?: (previous: unknown) => unknown
}

export interface HandOffLeg {
  readonly agent: string
  readonly id: string
  readonly tag: string
  readonly ms: number
}

/**
 * Hands `input` to the first stage, its reply to the second, and so on; resolves with the last
 * reply and the trail. A stage that fails stops the hand-off with `failed`, naming the stage, the
 * trail so far in `details`.
 */
export async function handOff(deps: Asking, input: unknown, stages: ReadonlyArray<HandOffStage>): Promise<{ readonly output: unknown; readonly trail: ReadonlyArray<HandOffLeg> }> {
  if (stages.length === 0) throw new CoordinationError("invalid_input", "a hand-off needs at least one stage")
  const asker = askerOf(deps)
  const trail: HandOffLeg[] = []
  let work = input
  for (const [i, s] of stages.entries()) {
    const agent = typeof s.agent === "string" ? s.agent : s.agent.type
    const started = Date.now()
    try {
      work = await asker.ask({ agent, id: s.id }, s.tag, s.map ? s.map(work) : work, s.timeoutMs === undefined ? {} : { timeoutMs: s.timeoutMs })
    } catch (e) {
      throw new CoordinationError("failed", `hand-off stopped at stage ${i + 1} of ${stages.length} (${agent}/${s.id} ${s.tag}): ${errorText(e)}`, { cause: e, details: { stage: i, trail, input: work } })
    }
    trail.push({ agent, id: s.id, tag: s.tag, ms: Date.now() - started })
  }
  return { output: work, trail }
}

export interface Review {
  readonly accept: boolean
  readonly feedback?: unknown
  readonly score?: number
}

export interface RefineSpec<D> {
  readonly draft: () => D | Promise<D>
  readonly review: (draft: D, round: number) => Review | Promise<Review>
  readonly revise: (draft: D, feedback: unknown, round: number) => D | Promise<D>
  /** Reviews at most (default 3). */
  readonly maxRounds?: number
}

export interface Refined<D> {
  readonly result: D
  readonly accepted: boolean
  /** Reviews done. */
  readonly rounds: number
  readonly history: ReadonlyArray<{ readonly round: number; readonly draft: D } & Review>
}

/** Draft, then review and revise until accepted or `maxRounds` reviews; the last draft either way. */
export async function refine<D>(spec: RefineSpec<D>): Promise<Refined<D>> {
  const maxRounds = spec.maxRounds ?? 3
  if (!Number.isInteger(maxRounds) || maxRounds < 1) throw new CoordinationError("invalid_input", `maxRounds must be an integer ≥ 1, got ${JSON.stringify(spec.maxRounds)}`)
  const history: Array<{ round: number; draft: D } & Review> = []
  let draft = await spec.draft()
  for (let round = 1; round <= maxRounds; round++) {
    const review = await spec.review(draft, round)
    history.push({ round, draft, ...review })
    if (review.accept) return { result: draft, accepted: true, rounds: round, history }
    if (round < maxRounds) draft = await spec.revise(draft, review.feedback, round)
  }
  return { result: draft, accepted: false, rounds: maxRounds, history }
}

/** `refine` between two actors: `writer` answers `draftTag` and `reviseTag`, `reviewer` answers `reviewTag` with a Review. */
export function refineWithAgents(
  deps: Asking,
  spec: {
    readonly writer: Participant
    readonly reviewer: Participant
    readonly brief: unknown
    readonly draftTag?: string
    readonly reviseTag?: string
    readonly reviewTag?: string
    readonly maxRounds?: number
    readonly timeoutMs?: number
  },
): Promise<Refined<unknown>> {
  const asker: Pick<Messaging, "ask"> = askerOf(deps)
  const o = spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }
  const writer = targetOf(spec.writer)
  const reviewer = targetOf(spec.reviewer)
  return refine({
    draft: () => asker.ask(writer, spec.draftTag ?? "Draft", { brief: spec.brief }, o),
    review: async (draft, round) => (await asker.ask(reviewer, spec.reviewTag ?? "Review", { brief: spec.brief, draft, round }, o)) as Review,
    revise: (draft, feedback, round) => asker.ask(writer, spec.reviseTag ?? "Revise", { brief: spec.brief, draft, feedback, round }, o),
    ...(spec.maxRounds === undefined ? {} : { maxRounds: spec.maxRounds }),
  })
}
