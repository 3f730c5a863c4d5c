/**
 * The status of a task as a reader sees it: its record in `ants_task_status`, or, when it has
 * none, `pending` if the task is still waiting in the task stream.
 *
 * A submission stores the task and nothing else (a third stored write per task was a third of
 * the server's work on the hot path); the first record a task gets is its worker's (`claimed`
 * after 50 ms, or its outcome). So a task without a record is looked for among its tenant's
 * waiting tasks, oldest first, one direct get each (`next_by_subj` over
 * `ants.<tenant>.task.>`; the work queue holds only tasks not yet finished, and another
 * consumer on it is refused), and read from its own message. Found: a `pending` record built
 * from it. Not found: the record is read once more, because a worker stores a task's outcome
 * before acking it off the stream, so a task that left the stream during the search has its
 * record by then. The cost is one read per task the tenant has waiting, paid only by a lookup
 * that finds no record, and bounded: at most `WAITING_SCAN_MAX` waiting tasks are read, so a
 * task further back in a long queue reads as unknown until a worker starts it.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import type { KV } from "@nats-io/kv"
import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream"
import { TASKS_STREAM, TaskHeaders, parseTaskSubject, taskTenantFilter, type Task, type TaskRecord } from "../../subjects/tasks.ts"
import { parseJsonSafe } from "../limits/safe-json.ts"
import { readStatus, recordOf, type StatusEntry } from "./status-store.ts"
import { storedTaskId } from "./task-id.ts"
import { decodeTaskBody } from "./task-codec.ts"

/**
 * How many of a tenant's waiting tasks a lookup reads at most (one direct get each, about a
 * second's work at the most): an id not found among them is answered as unknown, so a status
 * request cannot make the server read a backlog of millions.
 */
export const WAITING_SCAN_MAX = 10_000

/** The task's record, else a `pending` one when it waits in the task stream, else null. */
export async function lookUpTaskStatus(jsm: JetStreamManager, kv: KV, tenant: string, id: string, scanMax = WAITING_SCAN_MAX): Promise<TaskRecord | null> {
  const e: StatusEntry | null = await readStatus(kv, tenant, id)
  if (e) return e.record
  const waiting = await findWaitingTask(jsm, tenant, id, scanMax)
  if (waiting) return waiting
  return (await readStatus(kv, tenant, id))?.record ?? null
}

/** A `pending` record for task `id` of `tenant` if it is among the tenant's `scanMax` oldest waiting tasks. */
export async function findWaitingTask(jsm: JetStreamManager, tenant: string, id: string, scanMax = WAITING_SCAN_MAX): Promise<TaskRecord | null> {
  let found: TaskRecord | null = null
  await readWaitingTasks(jsm, tenant, scanMax, (m, mid) => {
    if (mid !== id) return true
    found = pendingRecord(m, tenant, id)
    return false
  })
  return found
}

/**
 * Visits the tenant's waiting tasks oldest first (`each` returns false to stop), at most `max`;
 * true when it stopped at `max` with more left.
 */
export async function readWaitingTasks(jsm: JetStreamManager, tenant: string, max: number, each: (m: StoredMsg, id: string) => boolean): Promise<boolean> {
  const filter = taskTenantFilter(tenant)
  let seq = 0
  for (let n = 0; ; n++) {
    const m = await jsm.direct.getMessage(TASKS_STREAM, { next_by_subj: filter, seq })
    if (!m) return false
    if (n >= max) return true
    if (!each(m, storedTaskId(m.header, m.subject, m.seq))) return false
    seq = m.seq + 1
  }
}

/** The `pending` record of a waiting task, built from its message. */
export function pendingRecord(m: StoredMsg, tenant: string, id: string): TaskRecord {
  const where = parseTaskSubject(m.subject)
  const resubmits = Number(m.header?.get(TaskHeaders.Resubmits) || 0)
  let task: Task | Error
  try {
    task = decodeTaskBody(parseJsonSafe(new TextDecoder().decode(m.data)), { tenant, capability: where.capability, id, now: m.timestamp ? Date.parse(m.timestamp) : Date.now(), bodyBytes: m.data.length })
  } catch (e) {
    task = e as Error
  }
  // A body that does not decode is dead-lettered by the worker that takes it; until then it waits.
  const t: Task = task instanceof Error ? { id, tenant, capability: where.capability, priority: where.lane ?? 5, payload: null, submittedAt: m.timestamp } : task
  return { ...recordOf(t, "pending", 0, resubmits ? { resubmits } : {}), updatedAt: m.timestamp }
}
