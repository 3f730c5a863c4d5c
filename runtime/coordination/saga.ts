/**
 * Durable sagas: a sequence of steps, each with an optional compensation. The steps run in
 * order; when one fails (after its retries), the compensations of the steps that completed run
 * in reverse order, and the saga ends `compensated` (or `failed` when a compensation itself
 * keeps failing: a human is asked through `escalate`, and `resume` tries the compensation
 * again once the cause is fixed).
 *
 * Promises:
 *   - Every transition of every step is journalled (saga-journal.ts) before the next thing
 *     happens, so a coordinator that crashes is continued by another one with `resume(id)` (or
 *     `resumeStale()`), from the step it was in, once its heartbeat is `staleMs` old.
 *   - A step or compensation runs at least once: one cut short by a crash runs again on resume
 *     (`ctx.attempt` says which run this is; `ctx.idempotencyKey` is the same on every run, for
 *     the step's own de-duplication: a durable tell's msgId, a task's idempotencyKey).
 *   - One owner at a time: a live owner's journal is never taken (`busy`), and an owner that was
 *     taken over stops at its next journal write (`taken_over`) and aborts `ctx.signal`.
 */
import { nuid } from "@nats-io/nats-core"
import { COORDINATION_RECEIPTS, SAGA_PREFIX, sagaArtifactId } from "../../subjects/coordination.ts"
import { isToken } from "../../subjects/grammar.ts"
import type { Workspace } from "../stigmergy/mod.ts"
import { CoordinationError, errorText, recordSafely, type Ports } from "./ports.ts"
import { JournalWriter, TERMINAL, journalOf, replaceStep, type SagaJournal, type StepEntry } from "./saga-journal.ts"

export interface SagaStepContext {
  /** The saga instance's id. */
  readonly saga: string
  readonly step: string
  /** 1 on the first run; more after a retry or a resume that ran it again. */
  readonly attempt: number
  /** `<saga>.<step>` (compensations: `<saga>.<step>.undo`), the same on every run. */
  readonly idempotencyKey: string
  /** Results of the steps completed so far, by step name. */
  readonly results: Readonly<Record<string, unknown>>
  /** Aborted when this coordinator lost the saga to another (or is stopped). */
  readonly signal: AbortSignal
}

export interface SagaStep<I = any, R = any> {
  /** A token, unique in the saga. */
  readonly name: string
  /** Does the step; its result (small JSON) is journalled. */
  readonly run: (input: I, ctx: SagaStepContext) => R | Promise<R>
  /** Undoes it, given its result. No compensation: nothing to undo. */
  readonly compensate?: (input: I, result: R, ctx: SagaStepContext) => unknown
  /** Further runs after a failure before the saga compensates (default 0). */
  readonly retries?: number
  /** A run not done by then fails (its `ctx.signal` is aborted); default: no limit. */
  readonly timeoutMs?: number
}

export interface SagaDefinition<I = any> {
  readonly name: string
  readonly steps: ReadonlyArray<SagaStep<I>>
  /** Runs of a failing compensation before the saga is `failed` (default 3), 200 ms apart, doubling. */
  readonly compensationAttempts?: number
}

export function defineSaga<I>(def: SagaDefinition<I>): SagaDefinition<I> {
  const bad = (m: string) => new CoordinationError("invalid_input", `saga ${JSON.stringify(def?.name)}: ${m}`)
  if (!isToken(def?.name)) throw bad("name must be one token (letters, digits, '_' and '-')")
  if (!Array.isArray(def.steps) || def.steps.length === 0) throw bad("steps must list at least one step")
  const seen = new Set<string>()
  for (const s of def.steps) {
    if (!isToken(s?.name)) throw bad(`step name ${JSON.stringify(s?.name)} must be one token`)
    if (seen.has(s.name)) throw bad(`step "${s.name}" is listed twice`)
    seen.add(s.name)
    if (typeof s.run !== "function") throw bad(`step "${s.name}" needs a run function`)
    if (s.compensate !== undefined && typeof s.compensate !== "function") throw bad(`step "${s.name}": compensate must be a function`)
  }
  return def
}

export interface SagaOutcome {
  readonly id: string
  readonly saga: string
  readonly status: "completed" | "compensated" | "failed"
  readonly results: Readonly<Record<string, unknown>>
  readonly failedStep?: string
  readonly error?: string
  readonly journal: SagaJournal
}

export interface SagaRunnerOptions {
  /** The sagas this runner can run and resume. */
  readonly sagas: ReadonlyArray<SagaDefinition>
  /** Who this coordinator is in journals (default a fresh id). */
  readonly owner?: string
  /** How often the owner shows life in the journal (default 1 s). */
  readonly heartbeatMs?: number
  /** A journal whose heartbeat is older than this may be taken over (default 10 s). */
  readonly staleMs?: number
}

export interface SagaRunner {
  readonly owner: string
  /** Starts a saga and runs it to its end. `id` (a token) defaults to a fresh one; reusing one is `duplicate`. */
  start<I>(saga: SagaDefinition<I>, input: I, options?: { readonly id?: string }): Promise<SagaOutcome>
  /** Continues a saga from its journal (after its coordinator crashed); `busy` while its owner is alive. */
  resume(id: string): Promise<SagaOutcome>
  /** Resumes every unfinished saga of the tenant whose owner stopped showing life. */
  resumeStale(): Promise<SagaOutcome[]>
  get(id: string): Promise<SagaJournal | undefined>
  /** Stops heartbeats and aborts running steps' signals; journals stay for another runner. */
  stop(): void
}

export type SagaDeps = Ports & { readonly workspace: Workspace; readonly now?: () => number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Runs `f` with a signal aborted when the run's own signal is, or after `timeoutMs`, which also fails the run. */
async function withTimeout<T>(timeoutMs: number | undefined, outer: AbortSignal, f: (signal: AbortSignal) => T | Promise<T>): Promise<T> {
  if (timeoutMs === undefined) return await f(outer)
  const inner = new AbortController()
  const onOuter = () => inner.abort(outer.reason)
  outer.addEventListener("abort", onOuter, { once: true })
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      Promise.resolve().then(() => f(inner.signal)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const e = new Error(`timed out after ${timeoutMs} ms`)
          inner.abort(e)
          reject(e)
        }, timeoutMs)
      }),
    ])
  } finally {
    clearTimeout(timer)
    outer.removeEventListener("abort", onOuter)
  }
}

export function sagaRunner(deps: SagaDeps, options: SagaRunnerOptions): SagaRunner {
  const ws = deps.workspace
  const now = deps.now ?? Date.now
  const owner = options.owner ?? `saga-runner-${nuid.next()}`
  const heartbeatMs = options.heartbeatMs ?? 1000
  const staleMs = options.staleMs ?? 10_000
  const byName = new Map(options.sagas.map((s) => [defineSaga(s).name, s]))
  /** Each run's abort and heartbeat, so `stop()` ends both. */
  const running = new Map<AbortController, ReturnType<typeof setInterval>>()

  const receipt = (j: SagaJournal, step: string, what: string, extra: Record<string, unknown> = {}) =>
    recordSafely(deps.record, ws.tenant, COORDINATION_RECEIPTS.saga, { saga: j.saga, id: j.id, step, what, owner, ...extra })

  /** Drives a journal this runner owns to a terminal status. */
  const drive = async (def: SagaDefinition, writer: JournalWriter): Promise<SagaOutcome> => {
    const stop = new AbortController()
    const beat = setInterval(() => {
      writer.write((j) => ({ ...j, heartbeatAt: now() })).catch(() => stop.abort(writer.takenOver ?? new Error("journal write failed")))
    }, heartbeatMs)
    running.set(stop, beat)
    try {
      const results = (j: SagaJournal) => Object.fromEntries(j.steps.filter((s) => s.state === "done").map((s) => [s.name, s.result]))
      const ctxOf = (j: SagaJournal, s: StepEntry, undo: boolean): SagaStepContext => ({
        saga: j.id,
        step: s.name,
        attempt: undo ? s.compensationAttempts : s.attempts,
        idempotencyKey: `${j.id}.${s.name}${undo ? ".undo" : ""}`,
        results: results(j),
        signal: stop.signal,
      })
      const input = writer.journal.input
      // forward
      if (writer.journal.status === "running") {
        for (const step of def.steps) {
          const entry = writer.journal.steps.find((s) => s.name === step.name)!
          if (entry.state === "done") continue
          let failure: string | undefined
          for (let runs = 1; ; runs++) {
            if (stop.signal.aborted) throw new CoordinationError("stopped", `saga ${writer.journal.id}: the runner stopped before step ${step.name}; resume it elsewhere`)
            const j = await writer.write((j) => replaceStep(j, step.name, (s) => ({ ...s, state: "running", attempts: s.attempts + 1, startedAt: now() })))
            await receipt(j, step.name, "run")
            const started = j.steps.find((s) => s.name === step.name)!
            try {
              const result = await withTimeout(step.timeoutMs, stop.signal, (signal) => step.run(input, { ...ctxOf(j, started, false), signal }))
              await writer.write((j) => replaceStep(j, step.name, (s) => ({ ...s, state: "done", result: result ?? null, endedAt: now() })))
              failure = undefined
              break
            } catch (e) {
              if (writer.takenOver) throw writer.takenOver
              failure = errorText(e)
              if (runs > (step.retries ?? 0)) break
            }
          }
          if (failure !== undefined) {
            await writer.write((j) => ({ ...replaceStep(j, step.name, (s) => ({ ...s, state: "failed", error: failure, endedAt: now() })), status: "compensating", failedStep: step.name, error: failure }))
            await receipt(writer.journal, step.name, "failed", { error: failure })
            break
          }
        }
        if (writer.journal.status === "running") await writer.write((j) => ({ ...j, status: "completed", endedAt: now() }))
      }
      // backward: the completed steps, last first
      if (writer.journal.status === "compensating") {
        const order = [...def.steps].reverse()
        for (const step of order) {
          const entry = writer.journal.steps.find((s) => s.name === step.name)!
          if (entry.state !== "done" && entry.state !== "compensating" && entry.state !== "compensation_failed") continue
          if (!step.compensate) {
            await writer.write((j) => replaceStep(j, step.name, (s) => ({ ...s, state: "no_compensation" })))
            continue
          }
          if (stop.signal.aborted) throw new CoordinationError("stopped", `saga ${writer.journal.id}: the runner stopped before undoing ${step.name}; resume it elsewhere`)
          const limit = def.compensationAttempts ?? 3
          let error: string | undefined
          for (let n = 0; n < limit; n++) {
            const j = await writer.write((j) => replaceStep(j, step.name, (s) => ({ ...s, state: "compensating", compensationAttempts: s.compensationAttempts + 1 })))
            await receipt(j, step.name, "compensate")
            const s = j.steps.find((x) => x.name === step.name)!
            try {
              await step.compensate(input, s.result, ctxOf(j, s, true))
              error = undefined
              break
            } catch (e) {
              if (writer.takenOver) throw writer.takenOver
              error = errorText(e)
              if (n + 1 < limit) await sleep(200 * 2 ** n)
            }
          }
          if (error !== undefined) {
            const failed = await writer.write((j) => ({ ...replaceStep(j, step.name, (s) => ({ ...s, state: "compensation_failed", error })), status: "failed", error: `compensation of ${step.name} failed: ${error}`, endedAt: now() }))
            await receipt(failed, step.name, "compensation_failed", { error })
            if (deps.escalate) {
              await deps
                .escalate({
                  tenant: ws.tenant,
                  subject: "saga",
                  artifact: sagaArtifactId(failed.id),
                  reason: "compensation_failed",
                  summary: `Saga ${failed.saga} ${failed.id}: step ${failed.failedStep} failed (${failed.error}), and undoing ${step.name} failed ${limit} times: ${error}. Fix the cause and resume the saga, or settle it by hand.`,
                  severity: 0.9,
                  detail: { saga: failed.saga, id: failed.id, step: step.name, error, steps: failed.steps },
                })
                .catch(() => undefined)
            }
            break
          }
          await writer.write((j) => replaceStep(j, step.name, (s) => ({ ...s, state: "compensated", endedAt: now() })))
        }
        if (writer.journal.status === "compensating") await writer.write((j) => ({ ...j, status: "compensated", endedAt: now() }))
      }
      await writer.settled()
      return outcomeOf(writer.journal)
    } finally {
      clearInterval(beat)
      running.delete(stop)
      stop.abort(new Error("the saga run ended"))
    }
  }

  const outcomeOf = (j: SagaJournal): SagaOutcome => ({
    id: j.id,
    saga: j.saga,
    status: j.status as SagaOutcome["status"],
    results: Object.fromEntries(j.steps.filter((s) => s.state === "done" || s.state === "compensated").map((s) => [s.name, s.result])),
    ...(j.failedStep ? { failedStep: j.failedStep } : {}),
    ...(j.error ? { error: j.error } : {}),
    journal: j,
  })

  const definitionOf = (j: SagaJournal): SagaDefinition => {
    const def = byName.get(j.saga)
    if (!def) throw new CoordinationError("not_found", `saga ${j.id} is a "${j.saga}", which this runner does not know (give it in options.sagas)`)
    return def
  }

  const get = async (id: string) => {
    const a = await ws.get(sagaArtifactId(id))
    return a ? journalOf(a) : undefined
  }

  const resume = async (id: string): Promise<SagaOutcome> => {
    const a = await ws.get(sagaArtifactId(id))
    if (!a) throw new CoordinationError("not_found", `no saga ${id} in tenant ${ws.tenant}`)
    const j = journalOf(a)
    const def = definitionOf(j)
    if (j.status === "completed" || j.status === "compensated") return outcomeOf(j)
    const age = now() - j.heartbeatAt
    if (j.status !== "failed" && j.owner !== owner && age < staleMs) {
      throw new CoordinationError("busy", `saga ${id} is owned by ${j.owner}, alive ${age} ms ago (taken over only after ${staleMs} ms)`)
    }
    const writer = new JournalWriter(ws, j, a.revision)
    try {
      await writer.write((x) => ({
        ...x,
        owner,
        heartbeatAt: now(),
        status: x.status === "failed" ? "compensating" : x.status,
        previousOwners: x.owner === owner ? x.previousOwners : [...x.previousOwners, x.owner],
      }))
    } catch (e) {
      throw new CoordinationError("busy", `saga ${id} was resumed by another coordinator at the same time`, { cause: e })
    }
    return await drive(def, writer)
  }

  return {
    owner,
    async start(saga, input, opts = {}) {
      const def = byName.get(saga.name) ?? defineSaga(saga)
      byName.set(def.name, def)
      const id = opts.id ?? nuid.next()
      if (!isToken(id)) throw new CoordinationError("invalid_input", `saga id ${JSON.stringify(id)} must be one token`)
      const t = now()
      const journal: SagaJournal = {
        id,
        saga: def.name,
        status: "running",
        input: input ?? null,
        owner,
        heartbeatAt: t,
        startedAt: t,
        previousOwners: [],
        steps: def.steps.map((s) => ({ name: s.name, state: "pending", attempts: 0, compensationAttempts: 0 })),
      }
      const { id: _i, status, ...data } = journal
      let created
      try {
        created = await ws.create({ id: sagaArtifactId(id), kind: "saga", status, data })
      } catch (e) {
        if ((e as { code?: string }).code === "conflict") throw new CoordinationError("duplicate", `saga ${id} exists already: resume it, or start with a fresh id`, { cause: e })
        throw e
      }
      return await drive(def, new JournalWriter(ws, journal, created.revision))
    },
    resume,
    async resumeStale() {
      const open = await ws.list({ prefix: SAGA_PREFIX, statuses: ["running", "compensating"] })
      const stale = open.map(journalOf).filter((j) => byName.has(j.saga) && now() - j.heartbeatAt >= staleMs)
      const out: SagaOutcome[] = []
      for (const j of stale) {
        try {
          out.push(await resume(j.id))
        } catch (e) {
          const code = (e as { code?: string }).code
          if (code !== "busy" && code !== "taken_over") throw e
        }
      }
      return out
    },
    get,
    stop() {
      for (const [c, beat] of running) {
        clearInterval(beat)
        c.abort(new Error("the saga runner stopped"))
      }
    },
  }
}
