/**
 * Scheduled delivery without server-side scheduling (nats-server 2.9 has none): a task whose
 * `notBefore` is in the future waits in the work-queue stream ANTS_TASKS_SCHEDULE. Every engine
 * runs a scheduler on the one shared durable consumer `ants-scheduler`; a scheduler that gets a
 * task before its time hands it back with a delayed nak (at most `recheckMs`, default 60 s, so
 * clock corrections are picked up) and one that gets it when due stores it in its task lane
 * (`Nats-Msg-Id` `<id>.at<seq>`, so a scheduler dying between store and ack stores it once) and
 * only then acks it. State lives only in streams and consumer state on the server: restarting
 * every node loses nothing, and a task is never delivered before `notBefore` because the check
 * is made against the clock just before it is moved. A scheduled message that can never become
 * a task (a subject or body that does not decode) is dead-lettered with reason
 * `malformed_payload` and its raw body, like a malformed task in a lane.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { AckPolicy, DeliverPolicy, jetstream, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream"
import { nanos } from "@nats-io/nats-core"
import {
  DEFAULT_PRIORITY,
  SCHEDULER_CONSUMER,
  TASKS_SCHEDULE_STREAM,
  TASKS_SCHEDULE_SUBJECTS,
  TaskHeaders,
  parseTaskSubject,
  type Task,
} from "../../subjects/tasks.ts"
import { decodeTaskBody } from "./task-codec.ts"
import { DEFAULT_TENANT, ROOT, isToken } from "../../subjects/grammar.ts"
import { errorMessage } from "./errors.ts"
import { deadLetterTask } from "./settle.ts"
import { publishTask } from "./submit.ts"
import { readStatus, recordOf, writeStatus } from "./status-store.ts"
import { ensureTaskStreams } from "./streams.ts"

export interface SchedulerOptions {
  /** Longest a scheduler waits before looking at a not-yet-due task again. Default 60 s. */
  readonly recheckMs?: number
}

export interface SchedulerHandle {
  stop(): Promise<void>
}

const decoder = new TextDecoder()

/** ants._sys.tasks.<tenant>.sched.<capability...> → the task subject it stands for. */
function parseScheduleSubject(subject: string): { tenant: string; capability: string } {
  const t = subject.split(".")
  // ants _sys tasks <tenant> sched <capability...>
  const p = parseTaskSubject(`${ROOT}.${t[3]}.task.${t.slice(5).join(".")}`)
  return { tenant: p.tenant, capability: p.capability }
}

export async function startScheduler(nc: NatsConnection, opts: SchedulerOptions = {}): Promise<SchedulerHandle> {
  const { jsm, status } = await ensureTaskStreams(nc)
  const recheckMs = opts.recheckMs ?? 60_000
  try {
    await jsm.consumers.add(TASKS_SCHEDULE_STREAM, {
      durable_name: SCHEDULER_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: TASKS_SCHEDULE_SUBJECTS[0],
      ack_wait: nanos(30_000),
      max_deliver: -1,
      max_ack_pending: -1,
    })
  } catch {
    // exists
  }
  const consumer = await jetstream(nc).consumers.get(TASKS_SCHEDULE_STREAM, SCHEDULER_CONSUMER)
  let iter: ConsumerMessages | undefined
  let stopped = false
  const inflight = new Set<Promise<void>>()

  const handle = async (m: JsMsg): Promise<void> => {
    let where: { tenant: string; capability: string }
    const hid = m.headers?.get(TaskHeaders.TaskId)
    const id = hid && isToken(hid) ? hid : `s${m.seq}`
    const rs = Number(m.headers?.get(TaskHeaders.Resubmits) || 0)
    const raw = decoder.decode(m.data)
    // Something that can never be delivered is dead-lettered (malformed_payload), never dropped.
    const malformed = async (w: { tenant: string; capability: string }, error: string) => {
      const stub: Task = { id, tenant: w.tenant, capability: w.capability, priority: DEFAULT_PRIORITY, payload: null, submittedAt: new Date().toISOString() }
      const settle = { msg: { subject: m.subject }, nak: (ms?: number) => m.nak(ms), term: () => m.term() }
      await deadLetterTask(nc, settle, stub, { reason: "malformed_payload", attempts: 0, lastError: error, resubmits: Number.isFinite(rs) ? rs : 0, raw, retryInMs: 1_000 }).catch(() => undefined)
    }
    try {
      where = parseScheduleSubject(m.subject)
    } catch (e) {
      const t = m.subject.split(".")
      return await malformed({ tenant: isToken(t[3]) ? t[3] : DEFAULT_TENANT, capability: t.slice(5).join(".") || "?" }, `scheduled task subject ${m.subject}: ${errorMessage(e)}`)
    }
    let body: unknown
    try {
      body = JSON.parse(raw)
    } catch (e) {
      return await malformed(where, `scheduled task body is not JSON: ${errorMessage(e)}`)
    }
    const task = decodeTaskBody(body, { ...where, id, now: Date.now() })
    if (task instanceof Error) return await malformed(where, task.message)
    const wait = (task.notBefore ?? 0) - Date.now()
    if (wait > 0) {
      m.nak(Math.min(wait, recheckMs))
      return
    }
    try {
      // Only a record still `scheduled` (or none) becomes `pending`: a scheduler that moved the
      // task and died before acking must not turn a finished task back into a pending one.
      const cur = await readStatus(status, task.tenant, task.id)
      if (!cur || cur.record.state === "scheduled") {
        await writeStatus(nc, recordOf(task, "pending", 0, rs ? { resubmits: rs } : {}), { expectedRevision: cur?.revision ?? 0 })
      }
      await publishTask(nc, task, { msgId: `${task.id}.at${m.seq}`, statusWrite: "none", forceNow: true, resubmits: rs })
      await m.ackAck()
    } catch {
      m.nak(1_000)
    }
  }

  const run = async () => {
    while (!stopped) {
      try {
        iter = await consumer.consume({ max_messages: 256 })
        for await (const m of iter) {
          const p = handle(m).catch(() => undefined)
          inflight.add(p)
          void p.finally(() => inflight.delete(p))
        }
      } catch {
        if (!stopped) await new Promise((r) => setTimeout(r, 500))
      }
    }
  }
  const loop = run()
  return {
    async stop() {
      stopped = true
      await iter?.close()
      await loop
      await Promise.all([...inflight])
    },
  }
}
