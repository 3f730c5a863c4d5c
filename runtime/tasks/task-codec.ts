/**
 * A task from and to its wire form: a submission (API, CLI) or a stored message body becomes a
 * validated, normalised Task, and a Task becomes the body the runtime stores. The well-formed
 * common case is decoded by hand (the hot path); anything unusual goes through the Schemas of
 * subjects/tasks.ts, whose issues say what is wrong.
 *
 * Pure code: no sockets, no clocks (callers pass `now`).
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { token } from "../../subjects/grammar.ts"
import {
  DEFAULT_PRIORITY,
  MAX_TASK_PAYLOAD_BYTES,
  PRIORITIES,
  TaskBody,
  TaskSubmission,
  capabilityProblem,
  priorityNumber,
  type Task,
} from "../../subjects/tasks.ts"
import { TaskInputError } from "./errors.ts"

const decodeSubmissionE = Schema.decodeUnknownEither(TaskSubmission)
const decodeBodyE = Schema.decodeUnknownEither(TaskBody)
const encoder = new TextEncoder()

function issuesOf(e: ParseResult.ParseError): string[] {
  const all = ParseResult.ArrayFormatter.formatErrorSync(e)
  // An optional field's "or undefined" branch adds noise next to the real issue: drop it.
  const useful = all.filter((i) => !/^Expected undefined, actual/.test(i.message) || !all.some((j) => j !== i && j.path.join(".") === i.path.join(".")))
  return useful.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message))
}

function toMs(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined
  return typeof v === "number" ? v : Date.parse(v)
}

/** JSON bytes of the payload, or throws TaskInputError when it is not JSON or too big. */
export function checkPayloadSize(payload: unknown): number {
  let json: string | undefined
  try {
    json = JSON.stringify(payload)
  } catch (e) {
    throw new TaskInputError(`payload is not JSON-serialisable: ${String(e)}`)
  }
  if (json === undefined) return 4
  // UTF-8 needs at most 3 bytes per UTF-16 unit: only long strings need encoding to be sure.
  if (json.length * 3 <= MAX_TASK_PAYLOAD_BYTES) return json.length
  const bytes = encoder.encode(json).length
  if (bytes > MAX_TASK_PAYLOAD_BYTES) {
    throw new TaskInputError(
      `payload is ${bytes} bytes, above the limit of ${MAX_TASK_PAYLOAD_BYTES}; store large data elsewhere (memory, object store) and pass a reference`,
    )
  }
  return bytes
}

const KNOWN_BODY_KEYS = new Set(["capability", "priority", "payload", "idempotencyKey", "sessionId", "notBefore", "deadline", "submittedAt"])
const ID_RE = /^[A-Za-z0-9_-]{1,200}$/
const PRIORITY_NAMES: Record<string, number> = PRIORITIES

function fastInstant(v: unknown): number | undefined | null {
  if (v === undefined) return undefined
  const ms = typeof v === "number" ? v : typeof v === "string" ? Date.parse(v) : NaN
  return Number.isFinite(ms) ? ms : null
}

/**
 * The common, well-formed case without Schema work (hot path). Returns null when anything is
 * unusual; the caller then runs the Schema, which explains what is wrong.
 */
function fastDecode(
  input: unknown,
  where: { tenant: string; capability?: string; id: string; now: number; body: boolean; payloadBytesAtMost?: number },
): Task | null {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return null
  const o = input as Record<string, unknown>
  for (const k in o) if (!KNOWN_BODY_KEYS.has(k) || (k === "submittedAt" && !where.body)) return null
  let capability = o.capability
  if (capability === undefined) {
    if (!where.body) return null
    capability = where.capability
  }
  if (typeof capability !== "string" || (where.capability !== undefined && capability !== where.capability)) return null
  if (where.capability === undefined && capabilityProblem(capability) !== undefined) return null
  const p = o.priority
  const priority = p === undefined ? DEFAULT_PRIORITY : typeof p === "number" ? p : typeof p === "string" ? PRIORITY_NAMES[p] : NaN
  if (!Number.isInteger(priority) || priority < 1 || priority > 10) return null
  if (o.idempotencyKey !== undefined && (typeof o.idempotencyKey !== "string" || !ID_RE.test(o.idempotencyKey))) return null
  if (o.sessionId !== undefined && (typeof o.sessionId !== "string" || !ID_RE.test(o.sessionId))) return null
  const notBefore = fastInstant(o.notBefore)
  const deadline = fastInstant(o.deadline)
  if (notBefore === null || deadline === null) return null
  if (o.submittedAt !== undefined && typeof o.submittedAt !== "string") return null
  if (where.payloadBytesAtMost === undefined || where.payloadBytesAtMost > MAX_TASK_PAYLOAD_BYTES) {
    try {
      checkPayloadSize(o.payload)
    } catch {
      return null
    }
  }
  return {
    id: where.id,
    tenant: where.tenant,
    capability,
    priority,
    payload: o.payload ?? null,
    ...(o.sessionId !== undefined ? { sessionId: o.sessionId as string } : {}),
    ...(notBefore !== undefined ? { notBefore } : {}),
    ...(deadline !== undefined ? { deadline } : {}),
    submittedAt: (o.submittedAt as string | undefined) ?? new Date(where.now).toISOString(),
  }
}

/**
 * Validates a submission (API/CLI) into a Task. Throws TaskInputError (schema, priority, dates,
 * payload size) or SubjectError (tenant or capability tokens).
 */
export function decodeTaskSubmission(input: unknown, opts: { tenant: string; id: string; now: number }): Task {
  token("tenant", opts.tenant)
  const fast = fastDecode(input, { tenant: opts.tenant, id: opts.id, now: opts.now, body: false })
  if (fast) {
    token("id", opts.id)
    return fast
  }
  const r = decodeSubmissionE(input, { onExcessProperty: "error" })
  if (Either.isLeft(r)) {
    const issues = issuesOf(r.left)
    throw new TaskInputError(`invalid task submission: ${issues.join("; ")}`, issues)
  }
  const s = r.right
  checkPayloadSize(s.payload)
  token("id", opts.id)
  return taskOf(s, { id: token("id", opts.id), tenant: opts.tenant, capability: s.capability, submittedAt: new Date(opts.now).toISOString() })
}

/**
 * Decodes a stored task message (what a worker receives). The subject gives tenant and
 * capability; a body capability that disagrees is refused. Returns a TaskInputError instead of
 * throwing: this is the hot path and malformed bodies end in the dead-letter stream.
 */
export function decodeTaskBody(
  body: unknown,
  where: { tenant: string; capability: string; id: string; now: number; bodyBytes?: number },
): Task | TaskInputError {
  const fast = fastDecode(body, { ...where, body: true, payloadBytesAtMost: where.bodyBytes })
  if (fast) return fast
  const r = decodeBodyE(body, { onExcessProperty: "error" })
  if (Either.isLeft(r)) {
    const issues = issuesOf(r.left)
    return new TaskInputError(`malformed task body: ${issues.join("; ")}`, issues)
  }
  const b = r.right
  if (b.capability !== undefined && b.capability !== where.capability) {
    return new TaskInputError(`body capability "${b.capability}" does not match the subject's "${where.capability}"`)
  }
  try {
    checkPayloadSize(b.payload)
  } catch (e) {
    return e as TaskInputError
  }
  return taskOf(b, { id: where.id, tenant: where.tenant, capability: where.capability, submittedAt: b.submittedAt ?? new Date(where.now).toISOString() })
}

/** A Task from the fields a submission and a stored body share, decoded, and where it stands. */
function taskOf(
  f: { readonly priority?: Parameters<typeof priorityNumber>[0]; readonly payload?: unknown; readonly sessionId?: string; readonly notBefore?: string | number; readonly deadline?: string | number },
  where: Pick<Task, "id" | "tenant" | "capability" | "submittedAt">,
): Task {
  return {
    ...where,
    priority: priorityNumber(f.priority),
    payload: f.payload ?? null,
    ...(f.sessionId !== undefined ? { sessionId: f.sessionId } : {}),
    ...(f.notBefore !== undefined ? { notBefore: toMs(f.notBefore) } : {}),
    ...(f.deadline !== undefined ? { deadline: toMs(f.deadline) } : {}),
  }
}

/** The JSON body the runtime stores for a task (normalised: numeric priority, ISO dates). */
export function encodeTaskBody(t: Task): TaskBody {
  return {
    capability: t.capability,
    priority: t.priority,
    payload: t.payload,
    ...(t.sessionId !== undefined ? { sessionId: t.sessionId } : {}),
    ...(t.notBefore !== undefined ? { notBefore: new Date(t.notBefore).toISOString() } : {}),
    ...(t.deadline !== undefined ? { deadline: new Date(t.deadline).toISOString() } : {}),
    submittedAt: t.submittedAt,
  }
}
