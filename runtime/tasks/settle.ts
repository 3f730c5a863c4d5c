/**
 * The two ways a delivered task leaves its lane other than by completion:
 * - moved (a plain publish whose body asks for another lane or a future `notBefore`): stored at
 *   its place first (`Nats-Msg-Id` `<id>.mv<seq>`, so a worker dying in between stores it once),
 *   then acked;
 * - dead-lettered: the dead letter is stored (`Nats-Msg-Id` `dlq.<id>.<resubmits>.<attempts>`),
 *   the status record says `dead_lettered`, and only then is the task terminated. If the dead
 *   letter cannot be stored the task is handed back for later, never dropped. A worker that
 *   holds a claim passes its revision: when the record moved on (its claim expired and another
 *   worker took the task, or already completed it) the dead letter it just stored is removed
 *   again and nothing else changes, so a late rejection never overwrites a later outcome.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { jetstreamManager } from "@nats-io/jetstream"
import { tenantMsgId } from "../../subjects/grammar.ts"
import {
  TASKS_DLQ_STREAM,
  TaskHeaders,
  taskDeadLetterSubject,
  type DeadLetter,
  type DeadLetterReason,
  type Task,
} from "../../subjects/tasks.ts"
import { encodeTaskBody } from "./task-codec.ts"
import { TaskEngineError, errorMessage } from "./errors.ts"
import type { Delivery } from "./lane-puller.ts"
import { recordOf, writeStatus, writeStatusAsync } from "./status-store.ts"
import { storedPublish } from "../server/stored-publish.ts"

export async function moveTask(nc: NatsConnection, d: Delivery, task: Task, subject: string, state: "pending" | "scheduled"): Promise<void> {
  const h: Record<string, string> = { [TaskHeaders.TaskId]: task.id }
  const rs = d.msg.headers?.get(TaskHeaders.Resubmits)
  if (rs) h[TaskHeaders.Resubmits] = rs
  await storedPublish(nc, subject, JSON.stringify(encodeTaskBody(task)), { msgId: tenantMsgId(task.tenant, `${task.id}.mv${d.info.streamSeq}`), headers: h })
  writeStatusAsync(nc, recordOf(task, state, 0))
  await d.ackAck()
}

export interface DeadLetterInput {
  readonly reason: DeadLetterReason
  readonly attempts: number
  readonly lastError: string
  readonly resubmits: number
  /** The undecodable body (reason malformed_payload); kept up to 64 KiB. */
  readonly raw?: string
  /** When storing fails, the task is handed back to be retried after this. */
  readonly retryInMs: number
  /** The status record's revision the caller's claim holds; the write is conditional on it. */
  readonly expectedRevision?: number
}

/** What dead-lettering needs of a delivered message (a lane Delivery, or a scheduler's JsMsg). */
export interface Settleable {
  readonly msg: { readonly subject: string }
  nak(delayMs?: number): void
  term(): void
}

/** True when the task was dead-lettered; false when the claim had moved on (nothing changed). */
export async function deadLetterTask(nc: NatsConnection, d: Settleable, task: Task, i: DeadLetterInput): Promise<boolean> {
  const dl: DeadLetter = {
    id: task.id,
    tenant: task.tenant,
    capability: task.capability,
    priority: task.priority,
    payload: task.payload,
    ...(task.sessionId !== undefined ? { sessionId: task.sessionId } : {}),
    ...(task.deadline !== undefined ? { deadline: new Date(task.deadline).toISOString() } : {}),
    submittedAt: task.submittedAt,
    attempts: i.attempts,
    lastError: i.lastError,
    reason: i.reason,
    deadLetteredAt: new Date().toISOString(),
    subject: d.msg.subject,
    resubmits: i.resubmits,
    ...(i.raw !== undefined ? { raw: i.raw.slice(0, 64 * 1024) } : {}),
  }
  try {
    const stored = await storedPublish(nc, taskDeadLetterSubject(task.tenant, task.id), JSON.stringify(dl), { msgId: tenantMsgId(task.tenant, `dlq.${task.id}.${i.resubmits}.${i.attempts}`) })
    const rec = recordOf(task, "dead_lettered", i.attempts, { reason: i.reason, lastError: i.lastError, ...(i.resubmits ? { resubmits: i.resubmits } : {}) })
    const rev = await writeStatus(nc, rec, i.expectedRevision === undefined ? {} : { expectedRevision: i.expectedRevision })
    if (rev === null) {
      if (!stored.duplicate) {
        const jsm = await jetstreamManager(nc)
        await jsm.streams.deleteMessage(TASKS_DLQ_STREAM, stored.seq, false).catch(() => false)
      }
      return false
    }
  } catch (e) {
    d.nak(i.retryInMs)
    throw new TaskEngineError("unavailable", `could not dead-letter task ${task.id}: ${errorMessage(e)}`, { cause: e })
  }
  d.term()
  return true
}
