/**
 * Submitting a task: validate everything first (nothing is stored for a bad submission), then
 * one JetStream publish with `Nats-Msg-Id` = `<tenant>.<task id>` (the idempotency key when
 * given; scoped by tenant, since the stream is shared and de-duplicates across it), so the
 * task is acknowledged only once stored and a resubmission within the duplicate window is
 * stored once. A task whose `notBefore` is in the future goes to the schedule stream instead.
 * A task for now gets no status record here: until its worker writes one, a status lookup finds
 * it waiting in the task stream and says `pending` (status-lookup.ts), which saves a stored
 * write per task. A scheduled task's `scheduled` record is written after the PubAck,
 * create-only and without a round trip, so it never overwrites a state written since.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { nuid } from "@nats-io/nats-core"
import { storedPublish } from "../server/stored-publish.ts"
import { activeTraceRecord, endWith, startSendSpan, traceParentNow, withSpan } from "../observability/tracing.ts"
import { DEFAULT_TENANT, tenantMsgId } from "../../subjects/grammar.ts"
import { TaskHeaders, taskLaneSubject, taskScheduleSubject, type Priority, type Task } from "../../subjects/tasks.ts"
import { decodeTaskSubmission, encodeTaskBody } from "./task-codec.ts"
import { TaskEngineError, errorMessage } from "./errors.ts"
import { recordOf, writeStatusAsync } from "./status-store.ts"
import { ensureTaskStreams } from "./streams.ts"

/** What `submitTask` accepts (dates may also be `Date` values). */
export interface TaskInput {
  readonly capability: string
  readonly payload?: unknown
  readonly priority?: Priority
  readonly idempotencyKey?: string
  readonly sessionId?: string
  readonly notBefore?: string | number | Date
  readonly deadline?: string | number | Date
}

export interface SubmitOptions {
  /** Tenant; default `default`. */
  readonly tenant?: string
  /** PubAck timeout in ms (default: the connection's). */
  readonly timeoutMs?: number
  /** Replicas of the task streams and buckets if this call is the one that creates them. Default 1. */
  readonly replicas?: number
}

export interface SubmitResult {
  readonly id: string
  readonly tenant: string
  /** `scheduled` when notBefore is in the future. */
  readonly state: "pending" | "scheduled"
  /** True when a task with this idempotency key was already stored (nothing new was stored). */
  readonly duplicate: boolean
  readonly stream: string
  readonly seq: number
  readonly subject: string
}

function plain(input: TaskInput): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue
    out[k] = v instanceof Date ? v.toISOString() : v
  }
  return out
}

/** Validates without storing: the Task that `submitTask` would store. Throws TaskInputError/SubjectError. */
export function validateTask(input: TaskInput, opts: { tenant?: string; id?: string } = {}): Task {
  const tenant = opts.tenant ?? DEFAULT_TENANT
  const id = opts.id ?? input.idempotencyKey ?? nuid.next()
  return decodeTaskSubmission(plain(input), { tenant, id, now: Date.now() })
}

/** Submits a task; resolves once JetStream has stored it. */
export async function submitTask(nc: NatsConnection, input: TaskInput, opts: SubmitOptions = {}): Promise<SubmitResult> {
  const task = validateTask(input, opts)
  // the submitter's span, taken before the first await (a plain handler's is gone after it)
  const parent = traceParentNow()
  try {
    await ensureTaskStreams(nc, opts.replicas === undefined ? {} : { replicas: opts.replicas })
  } catch (e) {
    // A tenant's principal may not manage streams (the runtime's nodes create them): it submits
    // all the same, and a missing stream is then reported by the publish itself.
    if (!permissionRefused(e)) throw e
  }
  // traced: the submission is a span of its own; the task's attempts are its children
  const span = startSendSpan("submit", task.capability, { tenant: task.tenant }, undefined, parent)
  return await endWith(span, withSpan(span, () => publishTask(nc, task, { msgId: task.id, timeoutMs: opts.timeoutMs })))
}

/** Whether the server refused `e`'s operation on permissions (anywhere in its causes). */
function permissionRefused(e: unknown): boolean {
  for (let c = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    if (c.name === "PermissionViolationError" || /Permissions Violation/i.test(c.message)) return true
  }
  return false
}

/** Stores an already validated task (submit, scheduler, dead-letter resubmission). */
export async function publishTask(
  nc: NatsConnection,
  task: Task,
  /** statusWrite: how the `scheduled` record of a scheduled task is written (default create-only); a task for now gets none. */
  opts: { msgId: string; timeoutMs?: number; resubmits?: number; statusWrite?: "create" | "put" | "none"; forceNow?: boolean },
): Promise<SubmitResult> {
  const scheduled = !opts.forceNow && task.notBefore !== undefined && task.notBefore > Date.now()
  const subject = scheduled ? taskScheduleSubject(task.tenant, task.capability) : taskLaneSubject(task.tenant, task.capability, task.priority, task.sessionId)
  // the submitter's trace (a handler or a traced client) goes with the task to its attempts
  // The task id goes in a header of its own unless the Nats-Msg-Id already says it
  // (`<tenant>.<id>`, read back by task-id.ts); the schedule reads only the header.
  const h: Record<string, string> = scheduled || opts.msgId !== task.id ? { [TaskHeaders.TaskId]: task.id } : {}
  const trace = activeTraceRecord()
  if (trace) Object.assign(h, trace)
  if (opts.resubmits) h[TaskHeaders.Resubmits] = String(opts.resubmits)
  let ack
  try {
    ack = await storedPublish(nc, subject, JSON.stringify(encodeTaskBody(task)), {
      msgId: tenantMsgId(task.tenant, opts.msgId),
      headers: h,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    })
  } catch (e) {
    throw new TaskEngineError("unavailable", `task ${task.id} was not stored (${errorMessage(e)}); it is safe to submit it again with the same idempotency key`, { cause: e })
  }
  const state = scheduled ? "scheduled" : "pending"
  const mode = opts.statusWrite ?? "create"
  if (scheduled && !ack.duplicate && mode !== "none") {
    writeStatusAsync(nc, recordOf(task, state, 0, opts.resubmits ? { resubmits: opts.resubmits } : {}), { createOnly: mode === "create" })
  }
  return { id: task.id, tenant: task.tenant, state, duplicate: ack.duplicate, stream: ack.stream, seq: ack.seq, subject }
}
