/**
 * Dead letters: tasks that will not be retried, kept in ANTS_TASKS_DLQ (one subject, hence one
 * message, per task id: ants._sys.tasks.<tenant>.dlq.<id>) with attempts, last error and
 * reason. They can be listed, inspected, resubmitted (a fresh set of attempts, same task id,
 * status back to `pending`; the dead letter is removed once the task is stored again, and a dead
 * letter it earns meanwhile is kept) and purged.
 * A `malformed_payload` dead letter is refused for resubmission: it would fail the same way.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { DEFAULT_TENANT, token } from "../../subjects/grammar.ts"
import { TASKS_DLQ_STREAM, decodeDeadLetter, taskDeadLetterSubject, type DeadLetter, type Task } from "../../subjects/tasks.ts"
import { TaskEngineError } from "./errors.ts"
import { recordOf, writeStatus } from "./status-store.ts"
import { ensureTaskStreams } from "./streams.ts"
import { publishTask, type SubmitResult } from "./submit.ts"

export interface DeadLetters {
  /** Dead letters of the tenant, oldest first (at most `limit`, default 1000). */
  list(opts?: { limit?: number }): Promise<DeadLetter[]>
  /** One dead letter, or null. */
  show(id: string): Promise<DeadLetter | null>
  /** Submits the task again (fresh attempts, same id) and removes the dead letter; refuses a malformed_payload one. */
  resubmit(id: string): Promise<SubmitResult>
  /** Removes one dead letter, or all of the tenant's; returns how many were removed. */
  purge(id?: string): Promise<number>
}

export function deadLetters(nc: NatsConnection, opts: { tenant?: string } = {}): DeadLetters {
  const tenant = token("tenant", opts.tenant ?? DEFAULT_TENANT)

  /** The task's dead letter and its sequence in the stream, or null. */
  const lastOf = async (id: string): Promise<{ dl: DeadLetter; seq: number } | null> => {
    const { jsm } = await ensureTaskStreams(nc)
    const m = await jsm.direct.getMessage(TASKS_DLQ_STREAM, { last_by_subj: taskDeadLetterSubject(tenant, token("id", id)) }).catch(() => null)
    if (!m || m.data.length === 0) return null
    const r = decodeDeadLetter(m.json())
    return r._tag === "Right" ? { dl: r.right, seq: m.seq } : null
  }
  const show = async (id: string): Promise<DeadLetter | null> => (await lastOf(id))?.dl ?? null

  return {
    async list(o = {}) {
      const { jsm } = await ensureTaskStreams(nc)
      const info = await jsm.streams.info(TASKS_DLQ_STREAM, { subjects_filter: taskDeadLetterSubject(tenant) })
      const subjects = Object.keys(info.state.subjects ?? {})
      const out: DeadLetter[] = []
      for (const subject of subjects.slice(0, o.limit ?? 1000)) {
        const m = await jsm.direct.getMessage(TASKS_DLQ_STREAM, { last_by_subj: subject }).catch(() => null)
        if (!m) continue
        const r = decodeDeadLetter(m.json())
        if (r._tag === "Right") out.push(r.right)
      }
      return out.sort((a, b) => a.deadLetteredAt.localeCompare(b.deadLetteredAt))
    },
    show,
    async resubmit(id) {
      const last = await lastOf(id)
      if (!last) throw new TaskEngineError("not_found", `no dead letter "${id}" in tenant "${tenant}"; list them with \`ants dlq list\``)
      const { dl } = last
      if (dl.reason === "malformed_payload") {
        // Its body never decoded (or the handler refused it as malformed): sent again it would
        // fail the same way, and an undecodable body has no payload to send (it would be null).
        throw new TaskEngineError(
          "invalid_request",
          `dead letter "${id}" cannot be resubmitted: its payload is malformed (${dl.lastError}). ` +
            `Submit a corrected task instead (\`ants task submit ${dl.capability} '<json>'\`), then remove this one with \`ants dlq purge ${id}\`` +
            (dl.raw !== undefined ? "; `ants dlq show` prints the raw body" : ""),
        )
      }
      const resubmits = dl.resubmits + 1
      const deadline = dl.deadline ? Date.parse(dl.deadline) : undefined
      const task: Task = {
        id: dl.id,
        tenant: dl.tenant,
        capability: dl.capability,
        priority: dl.priority,
        payload: dl.payload,
        ...(dl.sessionId !== undefined ? { sessionId: dl.sessionId } : {}),
        // A resubmission is an explicit decision: a deadline that has passed no longer applies.
        ...(deadline !== undefined && deadline > Date.now() ? { deadline } : {}),
        submittedAt: new Date().toISOString(),
      }
      await writeStatus(nc, recordOf(task, "pending", 0, { resubmits }))
      const r = await publishTask(nc, task, { msgId: `${task.id}.r${resubmits}`, resubmits, statusWrite: "none", forceNow: true })
      // only the dead letter resubmitted (and any before it): the task may fail and be
      // dead-lettered again before this lands, and that new dead letter must stay
      const { jsm } = await ensureTaskStreams(nc)
      await jsm.streams.purge(TASKS_DLQ_STREAM, { filter: taskDeadLetterSubject(tenant, id), seq: last.seq + 1 })
      return r
    },
    async purge(id) {
      const { jsm } = await ensureTaskStreams(nc)
      const r = await jsm.streams.purge(TASKS_DLQ_STREAM, { filter: taskDeadLetterSubject(tenant, id === undefined ? undefined : token("id", id)) })
      return r.purged
    },
  }
}
