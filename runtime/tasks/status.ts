/**
 * Task status: `getTaskStatus` reads the KV record, or for a task without one whether it still
 * waits in the task stream (status-lookup.ts: a just-submitted task is `pending` without a
 * record); `startStatusResponder` answers
 * ants._sys.tasks.<tenant>.status.<id> requests (queue group `ants-task-status`, so any number
 * of engines answer once) with the reply envelope `{"ok":true,"value":<TaskRecord>}` or
 * `{"ok":false,"error":{"code":"not_found",...}}`; `requestTaskStatus` asks that subject.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node"
import { DEFAULT_TENANT, token } from "../../subjects/grammar.ts"
import { decodeReply, encodeError, encodeOk } from "../../subjects/envelope.ts"
import {
  TASK_STATUS_QUEUE,
  TASK_STATUS_WILDCARD,
  decodeTaskRecord,
  parseTaskStatusSubject,
  taskStatusSubject,
  type TaskRecord,
} from "../../subjects/tasks.ts"
import { TaskEngineError, errorMessage } from "./errors.ts"
import { WAITING_SCAN_MAX, lookUpTaskStatus } from "./status-lookup.ts"
import { ensureTaskStreams } from "./streams.ts"

/** The task's status record, or null when no task with this id is known. */
export async function getTaskStatus(nc: NatsConnection, id: string, opts: { tenant?: string } = {}): Promise<TaskRecord | null> {
  const tenant = token("tenant", opts.tenant ?? DEFAULT_TENANT)
  const { jsm, status } = await ensureTaskStreams(nc)
  return await lookUpTaskStatus(jsm, status, tenant, token("id", id))
}

export interface StatusResponder {
  stop(): Promise<void>
}

export async function startStatusResponder(nc: NatsConnection): Promise<StatusResponder> {
  const { jsm, status } = await ensureTaskStreams(nc)
  const sub: Subscription = nc.subscribe(TASK_STATUS_WILDCARD, {
    queue: TASK_STATUS_QUEUE,
    callback: (_e, m) => {
      if (!m.reply) return
      let where: { tenant: string; id: string }
      try {
        where = parseTaskStatusSubject(m.subject)
      } catch (e) {
        m.respond(encodeError("invalid_subject", errorMessage(e)))
        return
      }
      lookUpTaskStatus(jsm, status, where.tenant, where.id).then(
        (r) =>
          m.respond(
            r
              ? encodeOk(r)
              : encodeError(
                  "not_found",
                  `no task "${where.id}" in tenant "${where.tenant}" (unknown id, its record expired, or it waits behind ${WAITING_SCAN_MAX.toLocaleString("en-US")} or more of the tenant's tasks and has no record until a worker starts it)`,
                ),
          ),
        (err) => m.respond(encodeError("unavailable", `status store unavailable: ${errorMessage(err)}`)),
      )
    },
  })
  return {
    async stop() {
      sub.unsubscribe()
    },
  }
}

/** Asks the status subject (any engine answers). Null when not found. */
export async function requestTaskStatus(
  nc: NatsConnection,
  id: string,
  opts: { tenant?: string; timeoutMs?: number } = {},
): Promise<TaskRecord | null> {
  const subject = taskStatusSubject(opts.tenant ?? DEFAULT_TENANT, id)
  let reply
  try {
    reply = decodeReply((await nc.request(subject, "", { timeout: opts.timeoutMs ?? 5_000 })).data)
  } catch (e) {
    throw new TaskEngineError("unavailable", `no task engine answered ${subject} (${errorMessage(e)}); is a runtime node running?`, { cause: e })
  }
  if (!reply.ok) {
    if (reply.error.code === "not_found") return null
    throw new TaskEngineError("invalid_request", reply.error.message)
  }
  const r = decodeTaskRecord(reply.value)
  if (r._tag === "Left") throw new TaskEngineError("invalid_request", "status reply is not a task record")
  return r.right
}
