/**
 * The task wire contract (`ants.<tenant>.task.<capability...>`): stream,
 * bucket and consumer names, every task subject, and the Schemas of a submission, a status
 * record and a dead letter (their decoding into a Task is runtime/tasks/task-codec.ts). Pure code: no sockets, no clocks (callers pass `now`).
 *
 * Subjects
 *
 *   ants.<tenant>.task.<capability...>              submit a task, priority normal (5) unless the
 *                                                   body says otherwise (a plain publish works)
 *   ants.<tenant>.task.<capability...>._p<N>        priority lane N in 1..10 (5 is the bare subject)
 *   ants.<tenant>.task.<capability...>._s.<session> a task of one session (processed in order)
 *   ants._sys.tasks.<tenant>.sched.<capability...>  scheduled tasks waiting for `notBefore`
 *   ants._sys.tasks.<tenant>.dlq.<id>               one dead letter per task id
 *   ants._sys.tasks.<tenant>.status.<id>            request: answers the task's status record in
 *                                                   the reply envelope (`not_found` if unknown)
 *   ants._sys.tasks.<tenant>.market.<capability...> marketplace call for bids (core NATS)
 *
 * All of `ants.*.task.>` is captured by the work-queue stream ANTS_TASKS, so a task published by
 * any client with a JetStream publish (or a request, to get the PubAck) is stored once the
 * server acknowledges it. Capability tokens beginning with `_` are reserved for the lane suffixes
 * above. Set the `Nats-Msg-Id` header to `<tenant>.<key>` (grammar.ts: tenantMsgId; the key a
 * subject token) to make that key the task id and have resubmissions within the duplicate window stored once.
 *
 * A task message body is JSON, the submission below; `capability` may be left out (the subject
 * says it). Task ids, idempotency keys and session ids are subject tokens ([A-Za-z0-9_-]+).
 */
import * as Schema from "effect/Schema"
import { ROOT, SubjectError, path, token } from "./grammar.ts"
import { fnv1a } from "./partition-hash.ts"

// ---------------------------------------------------------------------------------------
// Names

export const TASKS_STREAM = "ANTS_TASKS"
export const TASKS_SCHEDULE_STREAM = "ANTS_TASKS_SCHEDULE"
export const TASKS_DLQ_STREAM = "ANTS_TASKS_DLQ"
/** KV bucket: one status record per task, key `<tenant>.<id>`. */
export const TASK_STATUS_BUCKET = "ants_task_status"
/** KV bucket: marketplace claims, key `<tenant>.<id>.<resubmits>.<attempt>`, created once (create-if-absent). */
export const TASK_CLAIMS_BUCKET = "ants_task_claims"

export const TASKS_STREAM_SUBJECTS: ReadonlyArray<string> = [`${ROOT}.*.task.>`]
export const TASKS_SCHEDULE_SUBJECTS: ReadonlyArray<string> = [`${ROOT}._sys.tasks.*.sched.>`]
export const TASKS_DLQ_SUBJECTS: ReadonlyArray<string> = [`${ROOT}._sys.tasks.*.dlq.>`]
/** Every engine answers status requests in this queue group. */
export const TASK_STATUS_WILDCARD = `${ROOT}._sys.tasks.*.status.*`
export const TASK_STATUS_QUEUE = "ants-task-status"
/** The durable consumer the schedulers of every engine share. */
export const SCHEDULER_CONSUMER = "ants-scheduler"

/** Largest JSON-encoded payload accepted (the server's default max_payload is 1 MiB). */
export const MAX_TASK_PAYLOAD_BYTES = 256 * 1024
/** Largest JSON-encoded result kept in a status record; larger results are stored truncated. */
export const MAX_TASK_RESULT_BYTES = 64 * 1024

/** Headers the runtime sets on task messages. */
export const TaskHeaders = {
  MsgId: "Nats-Msg-Id",
  TaskId: "Ants-Task-Id",
  /** How many times the task was resubmitted from the dead-letter stream. */
  Resubmits: "Ants-Resubmits",
} as const

// ---------------------------------------------------------------------------------------
// Priorities

export const PRIORITIES = { critical: 10, high: 7, normal: 5, low: 3, background: 1 } as const
export type PriorityName = keyof typeof PRIORITIES
export const DEFAULT_PRIORITY = PRIORITIES.normal
/** Lanes in delivery order: 10 first. */
export const PRIORITY_LANES: ReadonlyArray<number> = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]

const PRIORITY_MESSAGE = "priority must be one of critical (10), high (7), normal (5), low (3), background (1), or an integer from 1 to 10"
export const Priority = Schema.Union(
  Schema.Literal("critical", "high", "normal", "low", "background"),
  Schema.Int.pipe(Schema.between(1, 10)),
).annotations({ message: () => ({ message: PRIORITY_MESSAGE, override: true }) })
export type Priority = typeof Priority.Type

export function priorityNumber(p: Priority | undefined): number {
  if (p === undefined) return DEFAULT_PRIORITY
  return typeof p === "number" ? p : PRIORITIES[p]
}

// ---------------------------------------------------------------------------------------
// Submission

const TokenString = (what: string) =>
  Schema.String.pipe(
    Schema.filter((s) => /^[A-Za-z0-9_-]{1,200}$/.test(s), {
      message: () => `${what} must be 1..200 characters of letters, digits, '_' and '-'`,
    }),
  )

const CapabilityString = Schema.String.pipe(
  Schema.filter((s) => capabilityProblem(s) === undefined, { message: (s) => capabilityProblem(String(s.actual)) ?? "invalid capability" }),
)

const Instant = Schema.Union(Schema.String, Schema.Number).pipe(
  Schema.filter((v) => Number.isFinite(typeof v === "number" ? v : Date.parse(v)), {
    message: () => "must be an ISO-8601 date-time or epoch milliseconds",
  }),
)

/** What a client submits (API, CLI or the JSON body of a plain publish). */
export const TaskSubmission = Schema.Struct({
  capability: CapabilityString,
  priority: Schema.optional(Priority),
  payload: Schema.optional(Schema.Unknown),
  idempotencyKey: Schema.optional(TokenString("idempotencyKey")),
  sessionId: Schema.optional(TokenString("sessionId")),
  notBefore: Schema.optional(Instant),
  deadline: Schema.optional(Instant),
})
export type TaskSubmission = typeof TaskSubmission.Type

/** The body of a plain publish: the submission, `capability` optional (the subject says it). */
export const TaskBody = Schema.Struct({
  ...TaskSubmission.fields,
  capability: Schema.optional(CapabilityString),
  submittedAt: Schema.optional(Schema.String),
})
export type TaskBody = typeof TaskBody.Type

/** A task as the status record and a dead letter both describe it (times as ISO strings). */
const StoredTaskFields = {
  id: Schema.String,
  tenant: Schema.String,
  capability: Schema.String,
  priority: Schema.Number,
  sessionId: Schema.optional(Schema.String),
  deadline: Schema.optional(Schema.String),
  submittedAt: Schema.optional(Schema.String),
}

/** A validated, normalised task: what the runtime stores and hands to handlers. */
export interface Task {
  readonly id: string
  readonly tenant: string
  readonly capability: string
  readonly priority: number
  readonly payload: unknown
  readonly sessionId?: string
  /** Epoch ms. */
  readonly notBefore?: number
  /** Epoch ms. */
  readonly deadline?: number
  readonly submittedAt: string
}

// ---------------------------------------------------------------------------------------
// Subjects

// A process serves and submits a handful of capabilities, each checked on every submission and
// delivery (split into tokens, each token checked): the good ones are remembered, up to a bound.
const goodCapabilities = new Set<string>()
const GOOD_CAPABILITIES_MAX = 1024

/** Returns why a capability is not acceptable, or undefined. Tokens beginning with `_` are reserved. */
export function capabilityProblem(capability: string): string | undefined {
  if (goodCapabilities.has(capability)) return undefined
  const problem = checkCapability(capability)
  if (problem === undefined) {
    if (goodCapabilities.size >= GOOD_CAPABILITIES_MAX) goodCapabilities.clear()
    goodCapabilities.add(capability)
  }
  return problem
}

function checkCapability(capability: string): string | undefined {
  try {
    const parts = path("capability", capability)
    const bad = parts.find((p) => p.startsWith("_"))
    if (bad) return `capability token "${bad}" may not begin with '_' (reserved for task lanes)`
    return undefined
  } catch (e) {
    return (e as Error).message
  }
}

function capabilityPath(capability: string): string {
  const problem = capabilityProblem(capability)
  if (problem) throw new SubjectError(problem, "capability", capability)
  return capability
}

function taskBase(tenant: string, capability: string): string {
  return `${ROOT}.${token("tenant", tenant)}.task.${capabilityPath(capability)}`
}

/** Where a task of this priority (and session) is stored. Priority 5 is the bare subject. */
export function taskLaneSubject(tenant: string, capability: string, priority: number, sessionId?: string): string {
  const base = taskBase(tenant, capability)
  if (sessionId !== undefined) return `${base}._s.${token("id", sessionId)}`
  if (!Number.isInteger(priority) || priority < 1 || priority > 10) {
    throw new SubjectError(`priority ${priority} is outside 1..10`, "subject", String(priority))
  }
  return priority === DEFAULT_PRIORITY ? base : `${base}._p${priority}`
}

/** The filter of one worker lane. `lane` is a priority, or "session" for all sessions. */
export function taskLaneFilter(tenant: string, capability: string, lane: number | "session"): string {
  return lane === "session" ? `${taskBase(tenant, capability)}._s.*` : taskLaneSubject(tenant, capability, lane)
}

export interface ParsedTaskSubject {
  readonly tenant: string
  readonly capability: string
  /** The lane priority the subject names (5 for the bare subject); undefined for session subjects. */
  readonly lane?: number
  readonly sessionId?: string
}

/** Parses any subject under `ants.<tenant>.task.`; throws SubjectError. */
export function parseTaskSubject(subject: string): ParsedTaskSubject {
  const t = subject.split(".")
  if (t.length < 4 || t[0] !== ROOT || t[2] !== "task") {
    throw new SubjectError(`"${subject}" is not a task subject (ants.<tenant>.task.<capability...>)`, "subject", subject)
  }
  const tenant = token("tenant", t[1])
  const rest = t.slice(3)
  const si = rest.indexOf("_s")
  if (si >= 0) {
    if (si !== rest.length - 2) throw new SubjectError(`"${subject}": '_s' must be followed by exactly one session id`, "subject", subject)
    return { tenant, capability: capabilityPath(rest.slice(0, si).join(".")), sessionId: token("id", rest[si + 1]) }
  }
  const last = rest[rest.length - 1]
  const m = /^_p(\d+)$/.exec(last)
  if (m) {
    const lane = Number(m[1])
    if (lane < 1 || lane > 10) throw new SubjectError(`"${subject}": lane ${lane} is outside 1..10`, "subject", subject)
    return { tenant, capability: capabilityPath(rest.slice(0, -1).join(".")), lane }
  }
  return { tenant, capability: capabilityPath(rest.join(".")), lane: DEFAULT_PRIORITY }
}

/** Every task subject of one tenant, `ants.<tenant>.task.>` (its waiting tasks in the stream). */
export function taskTenantFilter(tenant: string): string {
  return `${ROOT}.${token("tenant", tenant)}.task.>`
}

/** `ants._sys.tasks.<tenant>.sched.<capability...>` */
export function taskScheduleSubject(tenant: string, capability: string): string {
  return `${ROOT}._sys.tasks.${token("tenant", tenant)}.sched.${capabilityPath(capability)}`
}

/** `ants._sys.tasks.<tenant>.dlq.<id>` (or every dead letter of the tenant without id). */
export function taskDeadLetterSubject(tenant: string, id?: string): string {
  return `${ROOT}._sys.tasks.${token("tenant", tenant)}.dlq.${id === undefined ? ">" : token("id", id)}`
}

/** `ants._sys.tasks.<tenant>.status.<id>`: request/reply for a status record. */
export function taskStatusSubject(tenant: string, id: string): string {
  return `${ROOT}._sys.tasks.${token("tenant", tenant)}.status.${token("id", id)}`
}

/** Parses a status request subject; throws SubjectError. */
export function parseTaskStatusSubject(subject: string): { tenant: string; id: string } {
  const t = subject.split(".")
  if (t.length !== 6 || t[0] !== ROOT || t[1] !== "_sys" || t[2] !== "tasks" || t[4] !== "status") {
    throw new SubjectError(`"${subject}" is not a task status subject (ants._sys.tasks.<tenant>.status.<id>)`, "subject", subject)
  }
  return { tenant: token("tenant", t[3]), id: token("id", t[5]) }
}

/** `ants._sys.tasks.<tenant>.market.<capability...>`: marketplace calls for bids. */
export function taskMarketSubject(tenant: string, capability: string): string {
  return `${ROOT}._sys.tasks.${token("tenant", tenant)}.market.${capabilityPath(capability)}`
}

/** Every call for bids of a tenant. */
export function taskMarketWildcard(tenant: string): string {
  return `${ROOT}._sys.tasks.${token("tenant", tenant)}.market.>`
}

/** KV key of a task's status record. */
export function taskStatusKey(tenant: string, id: string): string {
  return `${token("tenant", tenant)}.${token("id", id)}`
}

/** Every status key of a tenant (a KV key filter). */
export function tenantTaskStatusKeys(tenant: string): string {
  return `${token("tenant", tenant)}.>`
}

/**
 * KV key of a marketplace claim, one per attempt of one generation of the task:
 * `<tenant>.<id>.<resubmits>.<attempt>`. The resubmit count is part of the key because a dead
 * letter resubmitted keeps its id and starts again at attempt 1, while the claims of its first
 * run are kept as long as tasks are (14 days).
 */
export function taskClaimKey(tenant: string, id: string, attempt: number, resubmits = 0): string {
  const gen = Number.isFinite(resubmits) ? Math.max(0, Math.trunc(resubmits)) : 0
  return `${token("tenant", tenant)}.${token("id", id)}.${gen}.${Math.max(1, Math.trunc(attempt))}`
}

/**
 * Durable consumer name of one worker lane. Names may not contain dots, so the capability is
 * flattened and a hash of the exact tenant and capability keeps distinct capabilities apart.
 */
export function taskConsumerName(tenant: string, capability: string, lane: number | "session"): string {
  token("tenant", tenant)
  capabilityPath(capability)
  const flat = `${tenant}_${capability.replace(/\./g, "_")}`.slice(0, 120)
  return `task_${flat}_${fnv1a(tenant, "\u0000", capability).toString(36)}_${lane === "session" ? "s" : `p${lane}`}`
}


// ---------------------------------------------------------------------------------------
// Status records and dead letters

export const TASK_STATES = ["pending", "scheduled", "claimed", "completed", "failed", "dead_lettered"] as const
export const TaskState = Schema.Literal(...TASK_STATES)
export type TaskState = typeof TaskState.Type
/** States after which nothing more happens to the task (unless a dead letter is resubmitted). */
export const TERMINAL_STATES: ReadonlyArray<TaskState> = ["completed", "dead_lettered"]

export const DeadLetterReason = Schema.Literal(
  /** Transient failures beyond the attempt limit. */
  "max_attempts",
  /** The body did not decode (schema, capability, size). */
  "malformed_payload",
  /** No agent bid for the task (marketplace) for every attempt. */
  "no_handler",
  /** The worker holding the task died or lost it (redelivered after the claim expired) on the last attempt. */
  "agent_crash",
  /** The deadline passed before the task could be processed. */
  "deadline_exceeded",
  /** The handler reported that a dependency is down and asked not to retry. */
  "dependency_down",
  /** The handler refused the task permanently (TaskRejected). */
  "rejected",
)
export const DEAD_LETTER_REASONS = DeadLetterReason.literals
export type DeadLetterReason = typeof DeadLetterReason.Type

/**
 * The status record kept in KV (`ants_task_status`, key `<tenant>.<id>`), updated on each
 * transition:
 *   pending        stored, waiting for a worker
 *   scheduled      waiting for `notBefore` in the schedule stream
 *   claimed        a worker (`claimedBy`) runs attempt `attempts`
 *   completed      done; `result` holds the handler's return value (once)
 *   failed         attempt `attempts` failed with `lastError`; retried at `retryAt`
 *   dead_lettered  moved to the dead-letter stream with `reason` after `attempts` attempts
 */
export const TaskRecord = Schema.Struct({
  ...StoredTaskFields,
  state: TaskState,
  attempts: Schema.Number,
  updatedAt: Schema.String,
  notBefore: Schema.optional(Schema.String),
  claimedBy: Schema.optional(Schema.String),
  result: Schema.optional(Schema.Unknown),
  resultTruncated: Schema.optional(Schema.Boolean),
  lastError: Schema.optional(Schema.String),
  retryAt: Schema.optional(Schema.String),
  reason: Schema.optional(DeadLetterReason),
  resubmits: Schema.optional(Schema.Number),
})
export type TaskRecord = typeof TaskRecord.Type

/** A dead letter: the body of a message in ANTS_TASKS_DLQ (`ants._sys.tasks.<tenant>.dlq.<id>`). */
export const DeadLetter = Schema.Struct({
  ...StoredTaskFields,
  payload: Schema.Unknown,
  attempts: Schema.Number,
  lastError: Schema.String,
  reason: DeadLetterReason,
  deadLetteredAt: Schema.String,
  /** The subject the task was stored on. */
  subject: Schema.String,
  resubmits: Schema.Number,
  /** The raw body, when it did not decode (reason malformed_payload). */
  raw: Schema.optional(Schema.String),
})
export type DeadLetter = typeof DeadLetter.Type

export const decodeTaskRecord = Schema.decodeUnknownEither(TaskRecord)
export const decodeDeadLetter = Schema.decodeUnknownEither(DeadLetter)
