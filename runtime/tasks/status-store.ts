/**
 * Status records in KV (`ants_task_status`, key `<tenant>.<id>`). Writes go straight to the
 * bucket's subject so the hot path can choose: fire-and-forget (ordered on the connection, no
 * round trip), create-only (never overwrites a later state), or acknowledged and conditional on
 * the revision the writer last saw (how a late result from a worker whose claim moved on is
 * refused, so a result is recorded once).
 */
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import type { NatsConnection } from "@nats-io/transport-node"
import type { KV } from "@nats-io/kv"
import { headers } from "@nats-io/nats-core"
import { storedPublish } from "../server/stored-publish.ts"
import { kvSubject } from "../../subjects/jetstream.ts"
import {
  MAX_TASK_RESULT_BYTES,
  TASK_STATUS_BUCKET,
  decodeTaskRecord,
  taskStatusKey,
  type Task,
  type TaskRecord,
  type TaskState,
} from "../../subjects/tasks.ts"

const encoder = new TextEncoder()

export function statusWriteSubject(tenant: string, id: string): string {
  return kvSubject(TASK_STATUS_BUCKET, taskStatusKey(tenant, id))
}

/** A record for `task` in `state`; `extra` fills the state's fields. */
export function recordOf(task: Task, state: TaskState, attempts: number, extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id: task.id,
    tenant: task.tenant,
    capability: task.capability,
    priority: task.priority,
    state,
    attempts,
    updatedAt: new Date().toISOString(),
    submittedAt: task.submittedAt,
    ...(task.sessionId !== undefined ? { sessionId: task.sessionId } : {}),
    ...(task.notBefore !== undefined ? { notBefore: new Date(task.notBefore).toISOString() } : {}),
    ...(task.deadline !== undefined ? { deadline: new Date(task.deadline).toISOString() } : {}),
    ...extra,
  }
}

/** Keeps a result within MAX_TASK_RESULT_BYTES. */
export function boundedResult(result: unknown): Pick<TaskRecord, "result" | "resultTruncated"> {
  let json: string | undefined
  try {
    json = JSON.stringify(result)
  } catch {
    return { result: String(result), resultTruncated: true }
  }
  if (json === undefined) return { result: null }
  if (json.length <= MAX_TASK_RESULT_BYTES / 4 || encoder.encode(json).length <= MAX_TASK_RESULT_BYTES) return { result }
  return { result: json.slice(0, MAX_TASK_RESULT_BYTES / 4), resultTruncated: true }
}

/** Fire-and-forget write, ordered after everything this connection sent before. */
export function writeStatusAsync(nc: NatsConnection, rec: TaskRecord, opts: { createOnly?: boolean } = {}): void {
  nc.publish(statusWriteSubject(rec.tenant, rec.id), JSON.stringify(rec), opts.createOnly ? { headers: createOnlyHeaders() } : undefined)
}

// Published headers are encoded at publish time and never changed, so one instance serves all.
let createOnly: ReturnType<typeof headers> | undefined
function createOnlyHeaders(): ReturnType<typeof headers> {
  if (!createOnly) {
    createOnly = headers()
    createOnly.set("Nats-Expected-Last-Subject-Sequence", "0")
  }
  return createOnly
}

/**
 * Acknowledged write; returns the new revision, or `null` when `expectedRevision` (0: the key
 * must not exist) no longer holds.
 */
export async function writeStatus(nc: NatsConnection, rec: TaskRecord, opts: { expectedRevision?: number } = {}): Promise<number | null> {
  try {
    const ack = await storedPublish(
      nc,
      statusWriteSubject(rec.tenant, rec.id),
      JSON.stringify(rec),
      opts.expectedRevision === undefined ? undefined : { expectedLastSubjectSequence: opts.expectedRevision },
    )
    return ack.seq
  } catch (e) {
    if (isWrongLastSequence(e)) return null
    throw e
  }
}


export interface StatusEntry {
  readonly record: TaskRecord
  readonly revision: number
}

export async function readStatus(kv: KV, tenant: string, id: string): Promise<StatusEntry | null> {
  const e = await kv.get(taskStatusKey(tenant, id))
  if (!e || e.operation !== "PUT" || e.value.length === 0) return null
  let parsed: unknown
  try {
    parsed = e.json()
  } catch {
    return null
  }
  const r = decodeTaskRecord(parsed)
  return r._tag === "Right" ? { record: r.right, revision: e.revision } : null
}
