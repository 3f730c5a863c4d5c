/**
 * Consensus: ask several agents the same question, collect their votes within a deadline, build
 * the agreement matrix (agreement.ts), and decide at a threshold or escalate to a human.
 *
 * Promises:
 *   - Never throws for what voters do: a voter that fails, answers something malformed or out
 *     of `options`, or does not answer by the deadline is counted (`errors`, `invalid`,
 *     `missing`) and the round goes on. Only bad input (no question, no voters, a threshold
 *     outside [0, 1], a round id already used) throws a `CoordinationError`, before anything is
 *     asked or written.
 *   - Every round is kept as a workspace artifact `consensus.<round>` (status `voting`, then
 *     `decided` or `escalated`) holding every vote, the matrix, the score and the outcome, so a
 *     round can be inspected afterwards by any client; a vote that arrives after the deadline
 *     (up to `lateGraceMs` later) is added to it as `late`, never counted.
 *   - Every vote and the decision go to the `record` port (receipts) when one is given; an
 *     escalation goes to the `escalate` port, whose answer (e.g. an approval id) is kept.
 *   - Works from plain code (`{messaging: client, workspace}`) and from inside a handler (pass
 *     `ctx`, which is both).
 */
import * as Schema from "effect/Schema"
import { nuid } from "@nats-io/nats-core"
import { COORDINATION_RECEIPTS, VoteReply, consensusArtifactId, type VoteRequest } from "../../subjects/coordination.ts"
import type { Messaging, Target } from "../agent/mod.ts"
import type { Workspace } from "../stigmergy/mod.ts"
import type { TaskEngine } from "../tasks/mod.ts"
import { decide, majorityOf, sameAnswer, tally, type Agreement, type DecisionReason } from "./agreement.ts"
import { CoordinationError, errorText, recordSafely, type Ports } from "./ports.ts"
import { updateArtifact } from "./artifact-update.ts"

/** Default minimum consensus score (the seed's 0.75). */
export const DEFAULT_THRESHOLD = 0.75
/** Default minimum backing confidence (the seed escalates below 0.7). */
export const DEFAULT_MIN_CONFIDENCE = 0.7
export const DEFAULT_VOTE_DEADLINE_MS = 10_000
export const MAX_VOTERS = 100

/** Who votes: targets, ids of one agent type, or `count` ballots put to a capability as durable tasks. */
export type Voters =
  | ReadonlyArray<Target>
  | { readonly agent: { readonly type: string } | string; readonly ids: ReadonlyArray<string>; readonly tenant?: string }
  | { readonly capability: string; readonly count: number }

/** Who asks: `{messaging: client}` from plain code, or an actor's `ctx` itself (it asks, and it has a workspace). */
export type Asking = { readonly messaging: Pick<Messaging, "ask"> } | Pick<Messaging, "ask">

export function askerOf(deps: Asking): Pick<Messaging, "ask"> {
  return "messaging" in deps && deps.messaging ? deps.messaging : (deps as Pick<Messaging, "ask">)
}

export type ConsensusDeps = Asking & ConsensusStores

export interface ConsensusStores extends Ports {
  /** Where the round is kept; its tenant is the round's. */
  readonly workspace: Workspace
  /** Needed only for capability voters. */
  readonly tasks?: Pick<TaskEngine, "submit" | "waitForStatus">
  readonly now?: () => number
}

export interface ConsensusSpec {
  readonly question: string
  readonly voters: Voters
  /** Admissible answers; a vote outside them is `invalid`. */
  readonly options?: ReadonlyArray<string>
  /** Any JSON the voters need (kept in the round). */
  readonly context?: unknown
  /** Round id (a token); default a fresh one. Reusing one fails with `duplicate`. */
  readonly round?: string
  /** The voters' protocol tag (default `Vote`, message VoteRequest, reply VoteReply). */
  readonly tag?: string
  /** How long votes are collected (default 10 s). */
  readonly deadlineMs?: number
  /** How long after the deadline a late vote is still recorded (default: deadlineMs). */
  readonly lateGraceMs?: number
  readonly threshold?: number
  readonly minConfidence?: number
  /** Minimum valid votes (default: more than half of those asked). */
  readonly quorum?: number
  readonly agree?: Agreement
  /** Urgency handed to the escalation (default 0.5). */
  readonly severity?: number
}

export type VoteOutcome = "vote" | "missing" | "late" | "error" | "invalid"

export interface VoteRecord {
  readonly voter: string
  readonly outcome: VoteOutcome
  readonly answer?: unknown
  readonly confidence?: number
  readonly rationale?: string
  readonly error?: string
  /** Milliseconds from the start of the round. */
  readonly ms?: number
}

export interface ConsensusResult {
  readonly tenant: string
  readonly round: string
  /** The artifact holding the round (`consensus.<round>`). */
  readonly artifact: string
  readonly question: string
  readonly status: "decided" | "escalated"
  /** The leading answer (the outcome when decided). */
  readonly answer: unknown
  readonly score: number
  readonly confidence: number
  readonly threshold: number
  readonly reason?: DecisionReason
  readonly votes: ReadonlyArray<VoteRecord>
  /** Voters of the valid votes, in the order of `matrix`. */
  readonly matrixVoters: ReadonlyArray<string>
  readonly matrix: ReadonlyArray<ReadonlyArray<number>>
  readonly counts: { readonly asked: number; readonly valid: number; readonly missing: number; readonly errors: number; readonly invalid: number }
  /** What the escalate port returned (e.g. an approval id), or its error. */
  readonly escalation?: unknown
  /** Receipts the record port failed to write. */
  readonly recordFailures: number
  readonly startedAt: number
  readonly decidedAt: number
}

interface Ballot {
  readonly voter: string
  /** Settles with the voter's reply (any JSON) or rejects. */
  readonly run: () => Promise<unknown>
}

const decodeVote = Schema.decodeUnknownEither(VoteReply)

function targetsOf(voters: Voters, tenant: string): Target[] | undefined {
  if (Array.isArray(voters)) return (voters as ReadonlyArray<Target>).map((t) => ({ ...t, tenant: t.tenant ?? tenant }))
  const v = voters as { agent?: { readonly type: string } | string; ids?: ReadonlyArray<string>; tenant?: string }
  if (v.agent !== undefined && Array.isArray(v.ids)) {
    const agent = typeof v.agent === "string" ? v.agent : v.agent.type
    return v.ids.map((id) => ({ agent, id, tenant: v.tenant ?? tenant }))
  }
  return undefined
}

const nameOf = (t: Target) => `${typeof t.agent === "string" ? t.agent : t.agent.type}/${t.id}`

function ballotsOf(spec: ConsensusSpec, deps: ConsensusDeps, tenant: string, request: VoteRequest, waitMs: number): Ballot[] {
  const tag = spec.tag ?? "Vote"
  const targets = targetsOf(spec.voters, tenant)
  if (targets) return targets.map((t) => ({ voter: nameOf(t), run: () => askerOf(deps).ask(t, tag, request, { timeoutMs: waitMs }) }))
  const { capability, count } = spec.voters as { capability?: unknown; count?: unknown }
  if (typeof capability !== "string" || typeof count !== "number" || !Number.isInteger(count) || count < 1) {
    throw new CoordinationError("invalid_input", "voters must be a list of targets, {agent, ids} or {capability, count}")
  }
  const tasks = deps.tasks
  if (!tasks) throw new CoordinationError("invalid_input", "capability voters need `tasks` (a TaskEngine) in the deps")
  return Array.from({ length: count }, (_, i) => {
    const ballot = { voter: `${capability}#${i + 1}`, run: async () => undefined as unknown }
    ballot.run = async () => {
      const { id } = await tasks.submit({ capability, payload: request, idempotencyKey: `consensus-${request.round}-${i + 1}`, priority: "high" })
      const rec = await tasks.waitForStatus(id, { timeoutMs: waitMs })
      if (rec.claimedBy) ballot.voter = rec.claimedBy
      if (rec.state !== "completed") throw new Error(`ballot task ${id} ${rec.state}: ${rec.lastError ?? rec.reason ?? "no result"}`)
      return rec.result
    }
    return ballot
  })
}

function check(spec: ConsensusSpec): void {
  const bad = (m: string) => new CoordinationError("invalid_input", m)
  if (typeof spec.question !== "string" || spec.question.trim() === "") throw bad("question must be a non-empty string")
  for (const [name, v] of [["threshold", spec.threshold], ["minConfidence", spec.minConfidence], ["severity", spec.severity]] as const) {
    if (v !== undefined && !(typeof v === "number" && v >= 0 && v <= 1)) throw bad(`${name} must be a number from 0 to 1, got ${JSON.stringify(v)}`)
  }
  for (const [name, v] of [["deadlineMs", spec.deadlineMs], ["lateGraceMs", spec.lateGraceMs], ["quorum", spec.quorum]] as const) {
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) throw bad(`${name} must be a non-negative number, got ${JSON.stringify(v)}`)
  }
}

/** One vote as recorded: a decoded reply, or why it does not count. */
function judge(voter: string, reply: unknown, options: ReadonlyArray<string> | undefined, ms: number): VoteRecord {
  const decoded = decodeVote(reply)
  if (decoded._tag === "Left") return { voter, outcome: "invalid", error: "the reply is not a VoteReply {answer, confidence?, rationale?}", ms }
  const v = decoded.right
  if (options && !options.some((o) => sameAnswer(o, v.answer) === 1)) {
    return { voter, outcome: "invalid", answer: v.answer, error: `the answer is not one of ${JSON.stringify(options)}`, ms }
  }
  return { voter, outcome: "vote", answer: v.answer, ms, ...(v.confidence === undefined ? {} : { confidence: v.confidence }), ...(v.rationale === undefined ? {} : { rationale: v.rationale }) }
}

function summaryOf(r: Omit<ConsensusResult, "escalation" | "recordFailures" | "decidedAt">): string {
  const c = r.counts
  return (
    `Consensus round ${r.round} on "${r.question}": leading answer ${JSON.stringify(r.answer)} with score ${r.score.toFixed(2)} ` +
    `(threshold ${r.threshold}) and backing confidence ${r.confidence.toFixed(2)}, from ${c.valid} valid votes of ${c.asked} asked ` +
    `(${c.missing} missing, ${c.errors} failed, ${c.invalid} invalid); not decided: ${r.reason}.`
  )
}

/** Runs one consensus round to its decision or escalation (see the module header). */
export async function runConsensus(deps: ConsensusDeps, spec: ConsensusSpec): Promise<ConsensusResult> {
  check(spec)
  const now = deps.now ?? Date.now
  const ws = deps.workspace
  const tenant = ws.tenant
  const round = spec.round ?? nuid.next()
  let artifact: string
  try {
    artifact = consensusArtifactId(round)
  } catch (e) {
    throw new CoordinationError("invalid_input", `round: ${errorText(e)}`, { cause: e })
  }
  const deadlineMs = spec.deadlineMs ?? DEFAULT_VOTE_DEADLINE_MS
  const graceMs = spec.lateGraceMs ?? deadlineMs
  const startedAt = now()
  const request: VoteRequest = {
    round,
    question: spec.question,
    deadline: startedAt + deadlineMs,
    ...(spec.options ? { options: [...spec.options] } : {}),
    ...(spec.context === undefined ? {} : { context: spec.context }),
  }
  const ballots = ballotsOf(spec, deps, tenant, request, deadlineMs + graceMs)
  if (ballots.length === 0) throw new CoordinationError("invalid_input", "no voters: name at least one")
  if (ballots.length > MAX_VOTERS) throw new CoordinationError("invalid_input", `at most ${MAX_VOTERS} voters, got ${ballots.length}`)
  const threshold = spec.threshold ?? DEFAULT_THRESHOLD
  const minConfidence = spec.minConfidence ?? DEFAULT_MIN_CONFIDENCE
  const quorum = spec.quorum ?? majorityOf(ballots.length)
  const opening = { question: spec.question, options: spec.options, context: spec.context, asked: ballots.map((b) => b.voter), threshold, minConfidence, quorum, startedAt, deadlineAt: request.deadline }
  try {
    await ws.create({ id: artifact, kind: "consensus", status: "voting", data: opening })
  } catch (e) {
    if ((e as { code?: string }).code === "conflict") throw new CoordinationError("duplicate", `consensus round "${round}" exists already (${artifact}): use a fresh round id`, { cause: e })
    throw e
  }

  // every ballot runs until its own ask timeout (deadline + grace); the decision waits for the deadline only
  const settled: Array<VoteRecord | undefined> = new Array(ballots.length).fill(undefined)
  const lateOnes: Array<Promise<VoteRecord>> = []
  const running = ballots.map((b, i) =>
    b.run().then(
      (reply) => judge(b.voter, reply, spec.options, now() - startedAt),
      (e): VoteRecord => ({ voter: b.voter, outcome: (e as { code?: string }).code === "timeout" ? "missing" : "error", error: errorText(e), ms: now() - startedAt }),
    ).then((rec) => {
      if (rec.ms! <= deadlineMs) settled[i] = rec
      return rec
    }),
  )
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([Promise.all(running), new Promise((r) => (timer = setTimeout(r, Math.max(0, request.deadline - now()))))])
  clearTimeout(timer)
  const votes: VoteRecord[] = settled.map((rec, i) => rec ?? { voter: ballots[i]!.voter, outcome: "missing" })
  votes.forEach((rec, i) => {
    if (settled[i] === undefined) lateOnes.push(running[i]!.then((r) => (r.outcome === "vote" ? { ...r, outcome: "late" } : { ...r, voter: ballots[i]!.voter })))
  })

  const valid = votes.filter((v) => v.outcome === "vote")
  const t = tally(valid.map((v) => ({ voter: v.voter, answer: v.answer, confidence: v.confidence })), spec.agree)
  const verdict = decide(t, valid.length, { threshold, minConfidence, quorum })
  const counts = {
    asked: ballots.length,
    valid: valid.length,
    missing: votes.filter((v) => v.outcome === "missing").length,
    errors: votes.filter((v) => v.outcome === "error").length,
    invalid: votes.filter((v) => v.outcome === "invalid").length,
  }
  const base = {
    tenant,
    round,
    artifact,
    question: spec.question,
    status: verdict.decided ? ("decided" as const) : ("escalated" as const),
    answer: t?.answer,
    score: t?.score ?? 0,
    confidence: t?.confidence ?? 0,
    threshold,
    ...(verdict.reason ? { reason: verdict.reason } : {}),
    votes,
    matrixVoters: t?.voters ?? [],
    matrix: t?.matrix ?? [],
    counts,
    startedAt,
  }
  let recordFailures = 0
  for (const v of base.votes) if (await recordSafely(deps.record, tenant, COORDINATION_RECEIPTS.vote, { round, ...v })) recordFailures++
  let escalation: unknown
  if (!verdict.decided && deps.escalate) {
    try {
      escalation = await deps.escalate({
        tenant,
        subject: "consensus",
        artifact,
        reason: verdict.reason!,
        summary: summaryOf(base),
        severity: spec.severity ?? 0.5,
        detail: { round, question: spec.question, answer: base.answer, score: base.score, threshold, counts, votes: base.votes },
      })
    } catch (e) {
      escalation = { error: errorText(e) }
    }
  }
  const decision = { round, status: base.status, answer: base.answer, score: base.score, confidence: base.confidence, threshold, reason: verdict.reason, counts, escalation }
  if (await recordSafely(deps.record, tenant, COORDINATION_RECEIPTS.decision, decision)) recordFailures++
  const result: ConsensusResult = { ...base, ...(escalation === undefined ? {} : { escalation }), recordFailures, decidedAt: now() }
  const { tenant: _t, round: _r, artifact: _a, ...stored } = result
  await updateArtifact(ws, artifact, () => ({ ...opening, ...stored }), base.status)

  // late votes are recorded as they come, never counted; nobody waits for them
  for (const late of lateOnes) {
    void late.then(async (rec) => {
      if (rec.outcome !== "late") return
      await recordSafely(deps.record, tenant, COORDINATION_RECEIPTS.vote, { round, ...rec })
      await updateArtifact(ws, artifact, (data) => {
        const d = data as { votes: VoteRecord[] }
        return { ...d, votes: d.votes.map((v) => (v.voter === rec.voter && v.outcome === "missing" ? rec : v)) }
      }).catch(() => undefined)
    })
  }
  return result
}

/** A round as stored (the artifact's data), or undefined. */
export async function getConsensusRound(workspace: Workspace, round: string): Promise<(Record<string, unknown> & { status: string }) | undefined> {
  const a = await workspace.get(consensusArtifactId(round))
  return a ? { ...(a.data as Record<string, unknown>), status: a.status } : undefined
}
