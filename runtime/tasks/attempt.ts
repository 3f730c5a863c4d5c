/**
 * One attempt of a task on a worker: check the status record when the delivery may be a retry
 * or a redelivery (a finished task is acknowledged as a duplicate, a late one dead-lettered),
 * claim it (lazily on a first delivery), run the handler while keeping the claim alive, then
 * record the outcome conditional on the claim: completed, failed with a retry after the
 * backoff, or dead-lettered. A worker whose claim moved on records nothing (`late_result`).
 */
import type { NatsConnection } from "@nats-io/transport-node"
import type { KV } from "@nats-io/kv"
import { TERMINAL_STATES, type DeadLetterReason, type Task } from "../../subjects/tasks.ts"
import { backoffDelay } from "../../supervisors/backoff.ts"
import { errorMessage } from "./errors.ts"
import { deadLetterTask } from "./settle.ts"
import { boundedResult, readStatus, recordOf, writeStatus } from "./status-store.ts"
import type { Delivery } from "./lane-puller.ts"
import type { TaskContext, TaskHandler, WorkerConfig } from "../agent/task-options.ts"
import { endSpan, startTaskSpan, withSpan } from "../observability/tracing.ts"

/** What an attempt needs from the worker that runs it. */
export interface AttemptHost {
  readonly nc: NatsConnection
  readonly kv: KV
  readonly handler: TaskHandler
  readonly cfg: WorkerConfig
  readonly counts: { completed: number; failed: number; deadLettered: number; duplicates: number }
}

export async function runAttempt(w: AttemptHost, d: Delivery, task: Task, resubmits: number, checkRecord: boolean): Promise<void> {
  const { maxAttempts } = w.cfg
  const deadlinePassed = () => task.deadline !== undefined && Date.now() > task.deadline
  const deadlineMessage = () => `deadline ${new Date(task.deadline!).toISOString()} passed before the task started`
  if (!checkRecord && deadlinePassed()) {
    // a first delivery: nothing has run yet
    return await deadLetter(w, d, task, "deadline_exceeded", 0, deadlineMessage(), resubmits)
  }
  let attempt = 1
  let claimRevision: number | undefined
  let claimWrite: Promise<void> | undefined
  let claimLost = false
  // Who runs the task: this worker, or the agent a handler hands it to (ctx.assign).
  let claimant = w.cfg.workerId
  const claimed = () => recordOf(task, "claimed", attempt, { claimedBy: claimant, ...(resubmits ? { resubmits } : {}) })
  if (checkRecord) {
    let entry = await readStatus(w.kv, task.tenant, task.id)
    for (let tries = 0; ; tries++) {
      const rec = entry?.record
      if (rec && TERMINAL_STATES.includes(rec.state) && (rec.resubmits ?? 0) >= resubmits) {
        w.counts.duplicates++
        w.cfg.onEvent?.({ type: "duplicate", id: task.id })
        await d.ackAck()
        return
      }
      const ran = rec && (rec.resubmits ?? 0) === resubmits ? rec.attempts : 0
      if (deadlinePassed()) {
        // a retry (or a redelivery) that comes too late: the attempts made and their last error stand
        const lastError = rec && (rec.resubmits ?? 0) === resubmits && rec.lastError ? rec.lastError : deadlineMessage()
        return await deadLetter(w, d, task, "deadline_exceeded", ran, lastError, resubmits)
      }
      attempt = ran + 1
      if (attempt > maxAttempts || (d.lane.kind === "priority" && d.info.deliveryCount > maxAttempts * 3)) {
        const crashed = !rec || rec.state === "claimed" || rec.state === "pending"
        return await deadLetter(
          w,
          d,
          task,
          crashed ? "agent_crash" : "max_attempts",
          attempt - 1,
          rec?.lastError ?? `the worker running attempt ${attempt - 1} stopped before reporting (claim expired)`,
          resubmits,
        )
      }
      const rev = await writeStatus(w.nc, claimed(), { expectedRevision: entry?.revision ?? 0 })
      if (rev !== null) {
        claimRevision = rev
        break
      }
      if (tries >= 3) return d.nak(w.cfg.sessionRetryMs) // contended: let the other claim settle
      entry = await readStatus(w.kv, task.tenant, task.id)
    }
  }

  // Claim writes are chained so they land in order; each is conditional on the one before
  // (the first lazy one excepted: nothing is known of the record then).
  const writeClaim = () => {
    claimWrite = (claimWrite ?? Promise.resolve())
      .then(async () => {
        if (claimLost) return
        const rev = await writeStatus(w.nc, claimed(), claimRevision === undefined ? {} : { expectedRevision: claimRevision })
        if (rev === null) claimLost = true
        else claimRevision = rev
      })
      .catch(() => undefined)
  }
  w.cfg.onEvent?.({ type: "started", id: task.id, attempt })
  const heartbeatMs = Math.max(200, Math.floor(w.cfg.ackWaitMs / 3))
  const hb = w.cfg.keepAlive ? setInterval(() => d.working(), heartbeatMs) : undefined
  let lazyClaim =
    claimRevision === undefined
      ? setTimeout(() => {
          lazyClaim = undefined
          writeClaim()
        }, w.cfg.claimRecordAfterMs)
      : undefined
  const ctx: TaskContext = {
    id: task.id,
    tenant: task.tenant,
    capability: task.capability,
    priority: task.priority,
    attempt,
    maxAttempts,
    ...(task.sessionId !== undefined ? { sessionId: task.sessionId } : {}),
    ...(task.deadline !== undefined ? { deadline: task.deadline } : {}),
    submittedAt: task.submittedAt,
    workerId: w.cfg.workerId,
    resubmits,
    working: () => d.working(),
    assign: (agentId: string) => {
      if (typeof agentId !== "string" || agentId.length === 0 || agentId === claimant) return
      claimant = agentId
      if (lazyClaim) {
        clearTimeout(lazyClaim)
        lazyClaim = undefined
      }
      writeClaim()
    },
  }
  let ok = false
  let result: unknown
  let error: unknown
  // traced: the attempt continues the submitter's trace; what the handler sends is its child
  const span = startTaskSpan(task, attempt, () => d.msg?.headers)
  try {
    result = await withSpan(span, () => w.handler(task.payload, ctx))
    ok = true
  } catch (e) {
    error = e
  } finally {
    endSpan(span, ok ? undefined : (error ?? "failed"))
    clearInterval(hb)
    if (lazyClaim) clearTimeout(lazyClaim)
    lazyClaim = undefined
  }
  if (claimWrite) await claimWrite
  if (claimLost) {
    // Our claim moved on (another worker holds a later attempt): its outcome counts.
    w.cfg.onEvent?.({ type: "late_result", id: task.id, attempt })
    return
  }

  if (ok) {
    const rec = recordOf(task, "completed", attempt, { claimedBy: claimant, ...boundedResult(result), ...(resubmits ? { resubmits } : {}) })
    // Acknowledged before the ack, so a completed task always has its record.
    const rev = await writeStatus(w.nc, rec, claimRevision === undefined ? {} : { expectedRevision: claimRevision })
    if (rev === null) {
      w.cfg.onEvent?.({ type: "late_result", id: task.id, attempt })
      return
    }
    await d.ackAck()
    w.counts.completed++
    w.cfg.onEvent?.({ type: "completed", id: task.id, attempt })
    return
  }

  const message = errorMessage(error)
  const tag = (error as { _tag?: string } | undefined)?._tag
  if (tag === "TaskRejected" || attempt >= maxAttempts) {
    const reason =
      tag === "TaskRejected"
        ? (((error as { reason?: DeadLetterReason }).reason ?? "rejected") as DeadLetterReason)
        : tag === "NoBidderError"
          ? "no_handler"
          : "max_attempts"
    return await deadLetter(w, d, task, reason, attempt, message, resubmits, undefined, claimRevision)
  }
  const delay = retryDelay(w.cfg, attempt)
  const failed = recordOf(task, "failed", attempt, {
    claimedBy: claimant,
    lastError: message,
    retryAt: new Date(Date.now() + delay).toISOString(),
    ...(resubmits ? { resubmits } : {}),
  })
  const rev = await writeStatus(w.nc, failed, claimRevision === undefined ? {} : { expectedRevision: claimRevision })
  if (rev === null) {
    w.cfg.onEvent?.({ type: "late_result", id: task.id, attempt })
    return
  }
  d.nak(delay)
  w.counts.failed++
  w.cfg.onEvent?.({ type: "failed", id: task.id, attempt, error: message, retryInMs: delay })
}

/** The wait before retrying after attempt `attempt` failed (1 for the first). */
function retryDelay(cfg: WorkerConfig, attempt: number): number {
  return Math.max(1, backoffDelay(cfg.backoff, attempt - 1, Math.random()))
}

/** Dead-letters `task` unless its claim moved on (then the later holder's outcome counts). */
export async function deadLetter(
  w: AttemptHost,
  d: Delivery,
  task: Task,
  reason: DeadLetterReason,
  attempts: number,
  lastError: string,
  resubmits: number,
  raw?: string,
  expectedRevision?: number,
): Promise<void> {
  const done = await deadLetterTask(w.nc, d, task, {
    reason,
    attempts,
    lastError,
    resubmits,
    raw,
    retryInMs: w.cfg.backoff.initialMs,
    ...(expectedRevision === undefined ? {} : { expectedRevision }),
  })
  if (!done) {
    // the claim moved on: whatever the later holder records counts
    w.cfg.onEvent?.({ type: "late_result", id: task.id, attempt: attempts })
    return
  }
  w.counts.deadLettered++
  w.cfg.onEvent?.({ type: "dead_lettered", id: task.id, attempts, reason })
}
