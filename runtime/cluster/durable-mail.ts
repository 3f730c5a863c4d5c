/**
 * Durable actor messages: at-least-once tells through JetStream.
 *
 * A sender publishes to `ants.<tenant>.mail.<type>.<id>.<Tag>` (JetStream publish, header
 * `Nats-Msg-Id` for de-duplication within the stream's duplicate window, default 2 min). Stream
 * `ants_mail` (work queue, file storage, the runtime's replicas) keeps the message until an
 * actor has handled it. Every node pulls from one shared durable consumer `ants_mail_delivery`
 * and delivers each message as an ask to the actor's public subject, so the server's mapping
 * takes it to the owning node like any other message; the message is acked only after an `ok`
 * reply; the delivery carries header `Ants-Durable`, so the actor stores its state before it
 * answers (an `after-change` actor checkpoints before the reply for this message). Outcomes:
 * - `ok`: acked (removed from the stream).
 * - `invalid_message`, `unknown_tag`, `invalid_subject`, `forbidden`, `too_large`: retrying cannot help;
 *   the message goes to the dead-letter stream at once.
 * - anything else (`unavailable`, `timeout`, no node, `overloaded`, `handler_failed`): nak with
 *   a growing delay (250 ms doubling, at most 10 s), redelivered; after `maxDeliveries`
 *   (default 10) it goes to the dead-letter stream.
 * Dead letters are published to mailDeadSubject (subjects/cluster.ts: _sys.dead.mail.<tenant>.<type>.<id>.<Tag>; stream
 * `ants_mail_dead`, kept 30 days) with the original body and headers `Ants-Dead-Code`,
 * `Ants-Dead-Reason`, `Ants-Deliveries`, `Ants-Original-Subject`.
 *
 * While the actor works on a message, the delivering node tells the server so (`working()`
 * every `ackWaitMs / 3`), so a slow handler is not redelivered; a delivery waits for the answer
 * up to `deliveryTimeoutMs` (default 5 min), or until the node that owned the actor is taken
 * for dead meanwhile (the answer will never come: it is then retried). A node that crashes while holding a message never
 * acks it: the consumer redelivers it after `ackWaitMs` (default 10 s) to another node. Handlers must therefore tolerate a repeat (the
 * message can be handled and then redelivered if the node died before the ack). No order is
 * promised between durable messages.
 */
import { headers as natsHeaders, nanos, type NatsConnection } from "@nats-io/nats-core"
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg } from "@nats-io/jetstream"
import { agentSubject, type AgentSubjectParts } from "../../subjects/grammar.ts"
import {
  DEAD_CODE_HEADER,
  DURABLE_HEADER,
  DEAD_DELIVERIES_HEADER,
  DEAD_REASON_HEADER,
  DEAD_SUBJECT_HEADER,
  MAIL_CONSUMER,
  MAIL_DEAD_STREAM,
  MAIL_DEAD_STREAM_SUBJECTS,
  MAIL_STREAM,
  MAIL_STREAM_SUBJECTS,
  mailDeadSubject,
  parseMailSubject,
} from "../../subjects/cluster.ts"
import { decodeReply } from "../../subjects/envelope.ts"
import { retrying } from "../../supervisors/backoff.ts"
import { ensureFamilyStream, type StreamFamily } from "../server/streams.ts"
import { backoffCap, type Backoff } from "../../supervisors/backoff.ts"
import { publishDurable } from "../client/durable-tell.ts"
import type { DurableTellResult } from "../agent/actor-context.ts"

export const MAIL_DEFAULTS = {
  ackWaitMs: 10_000,
  maxDeliveries: 10,
  duplicateWindowMs: 120_000,
  /** Messages one node delivers at a time. */
  concurrency: 64,
  /** How long one delivery waits for the actor's answer (handlers may be slow, e.g. LLM calls); the server is told the message is being worked on meanwhile. */
  deliveryTimeoutMs: 300_000,
  maxAgeMs: 7 * 24 * 3600_000,
  deadMaxAgeMs: 30 * 24 * 3600_000,
} as const

/** Redelivery after a failed delivery: 250 ms, doubling, at most 10 s. */
const REDELIVERY_BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000, multiplier: 2, jitter: 0 }

const TERMINAL = new Set(["invalid_message", "unknown_tag", "invalid_subject", "forbidden", "too_large"])

export interface MailOptions {
  readonly replicas?: number
  readonly ackWaitMs?: number
  readonly maxDeliveries?: number
  readonly duplicateWindowMs?: number
  readonly concurrency?: number
  readonly deliveryTimeoutMs?: number
  /**
   * Called as a delivery begins; the returned check says whether the node that owned the actor
   * then has been taken for dead since (its answer will never come: the delivery stops waiting
   * and is retried).
   */
  readonly watchOwner?: (parts: AgentSubjectParts) => () => boolean
}

export type { DurableTellResult }

/** Waits for `p` at most `ms`; the timer does not outlive the wait (it would keep a stopping process alive). */
async function within(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  let t: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([p, new Promise((r) => (t = setTimeout(r, ms)))])
  } finally {
    clearTimeout(t)
  }
}
const encoder = new TextEncoder()

/** Creates the mail streams and the shared consumer when absent (an existing configuration is kept). */
export async function ensureMailStreams(nc: NatsConnection, o: MailOptions = {}): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc)
  const family: StreamFamily = { storage: StorageType.File, replicas: o.replicas ?? 1, maxAgeMs: MAIL_DEFAULTS.maxAgeMs, duplicateWindowMs: o.duplicateWindowMs ?? MAIL_DEFAULTS.duplicateWindowMs }
  await ensureFamilyStream(jsm, family, MAIL_STREAM, MAIL_STREAM_SUBJECTS, RetentionPolicy.Workqueue)
  await ensureFamilyStream(jsm, { ...family, maxAgeMs: MAIL_DEFAULTS.deadMaxAgeMs }, MAIL_DEAD_STREAM, MAIL_DEAD_STREAM_SUBJECTS, RetentionPolicy.Limits)
  try {
    await jsm.consumers.info(MAIL_STREAM, MAIL_CONSUMER)
  } catch {
    try {
      await jsm.consumers.add(MAIL_STREAM, {
        durable_name: MAIL_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(o.ackWaitMs ?? MAIL_DEFAULTS.ackWaitMs),
        max_deliver: -1,
        max_ack_pending: -1,
      })
    } catch (e) {
      await jsm.consumers.info(MAIL_STREAM, MAIL_CONSUMER).catch(() => {
        throw e
      })
    }
  }
  return jsm
}

export { publishDurable }


export interface MailDelivery {
  readonly delivered: number
  readonly retried: number
  readonly deadLettered: number
  /** Messages this node has pulled and is delivering now (unacked: redelivered elsewhere if it dies). */
  readonly inflight: number
  /** Stops pulling and waits for the deliveries in flight. */
  stop(): Promise<void>
}

/** Pulls durable mail and delivers it to the actors (one per node; all nodes share the consumer). */
export async function startMailDelivery(
  nc: NatsConnection,
  o: MailOptions & { log: (level: "info" | "warn" | "error", message: string) => void },
): Promise<MailDelivery> {
  await retrying(() => ensureMailStreams(nc, o), 20_000)
  const consumer = await retrying(() => jetstream(nc).consumers.get(MAIL_STREAM, MAIL_CONSUMER), 20_000)
  const maxDeliveries = o.maxDeliveries ?? MAIL_DEFAULTS.maxDeliveries
  const timeoutMs = o.deliveryTimeoutMs ?? MAIL_DEFAULTS.deliveryTimeoutMs
  const inflight = new Set<Promise<void>>()
  const stats = { delivered: 0, retried: 0, deadLettered: 0 }
  let stopped = false
  let iter: ConsumerMessages | undefined

  const deadLetter = async (m: JsMsg, parts: AgentSubjectParts | undefined, code: string, reason: string) => {
    const h = natsHeaders()
    h.set(DEAD_CODE_HEADER, code)
    h.set(DEAD_REASON_HEADER, reason.replace(/[\r\n]+/g, " ").slice(0, 1000))
    h.set(DEAD_DELIVERIES_HEADER, String(m.info.deliveryCount))
    h.set(DEAD_SUBJECT_HEADER, m.subject)
    const id = m.headers?.get("Nats-Msg-Id")
    h.set("Nats-Msg-Id", id ? `dead-${id}` : `dead-${m.seq}`)
    const subject = parts ? mailDeadSubject(parts) : mailDeadSubject({ tenant: "default", type: "unknown", id: "unknown", tag: "Unknown" })
    try {
      await jetstream(nc).publish(subject, m.data, { headers: h })
      stats.deadLettered++
      o.log("warn", `durable message ${m.subject} (seq ${m.seq}) dead-lettered after ${m.info.deliveryCount} deliveries: ${code}: ${reason}`)
      // no reason on the +TERM: nats-server 2.9 does not parse "+TERM <reason>" and then redelivers
      // the message after every ack wait (the reason travels in the dead letter's headers)
      m.term()
    } catch (e) {
      o.log("warn", `could not dead-letter ${m.subject}: ${(e as Error).message}; retrying later`)
      m.nak(1_000)
    }
  }

  const deliver = async (m: JsMsg) => {
    const parts = parseMailSubject(m.subject)
    let subject: string
    try {
      if (!parts) throw new Error("not a mail subject")
      subject = agentSubject(parts)
    } catch (e) {
      return deadLetter(m, undefined, "invalid_subject", `${m.subject}: ${(e as Error).message}`)
    }
    let code: string
    let reason: string
    try {
      const h = natsHeaders()
      h.set(DURABLE_HEADER, "1")
      const reply = await whileWorking(m, parts, nc.request(subject, m.data.length ? m.data : encoder.encode("{}"), { timeout: timeoutMs, headers: h }))
      const env = decodeReply(reply.data)
      if (env.ok) {
        m.ack()
        stats.delivered++
        return
      }
      code = env.error.code
      reason = env.error.message
    } catch (e) {
      const err = e as Error & { code?: string }
      code = /no responders|503/i.test(String(err.message) + String(err.code ?? "")) ? "unavailable" : /timeout/i.test(err.message + err.name) ? "timeout" : "unavailable"
      reason = err.message
    }
    if (TERMINAL.has(code)) return deadLetter(m, parts, code, reason)
    if (m.info.deliveryCount >= maxDeliveries) return deadLetter(m, parts, code, `${reason} (after ${m.info.deliveryCount} deliveries)`)
    stats.retried++
    m.nak(backoffCap(REDELIVERY_BACKOFF, m.info.deliveryCount - 1))
  }

  /**
   * Waits for the actor's answer, telling the server every `ackWaitMs / 3` that the message is
   * still being worked on (so a slow handler is not redelivered meanwhile), and giving up when
   * the actor's node was taken for dead since the delivery began (its answer will never come).
   */
  const workingEveryMs = Math.max(100, Math.floor((o.ackWaitMs ?? MAIL_DEFAULTS.ackWaitMs) / 3))
  const whileWorking = async <T>(m: JsMsg, parts: AgentSubjectParts, request: Promise<T>): Promise<T> => {
    const ownerLost = o.watchOwner?.(parts)
    request.catch(() => undefined)
    let beat: ReturnType<typeof setInterval> | undefined
    let watch: ReturnType<typeof setInterval> | undefined
    const lost = new Promise<never>((_, reject) => {
      beat = setInterval(() => {
        try {
          m.working()
        } catch {
          // closing: the message is redelivered after the ack wait
        }
      }, workingEveryMs)
      if (ownerLost) {
        watch = setInterval(() => {
          if (ownerLost()) reject(new Error("the actor's node was taken for dead while this message was being delivered; delivering it again"))
        }, 250)
      }
    })
    try {
      return await Promise.race([request, lost])
    } finally {
      clearInterval(beat)
      clearInterval(watch)
    }
  }

  const concurrency = o.concurrency ?? MAIL_DEFAULTS.concurrency
  const loop = async () => {
    while (!stopped) {
      try {
        iter = await consumer.consume({ max_messages: concurrency })
        for await (const m of iter) {
          if (stopped) {
            m.nak()
            continue
          }
          const p = deliver(m).catch((e) => o.log("warn", `durable delivery of ${m.subject} failed: ${(e as Error).message}`))
          inflight.add(p)
          void p.finally(() => inflight.delete(p))
          while (inflight.size >= concurrency && !stopped) await Promise.race(inflight)
        }
      } catch (e) {
        if (!stopped) o.log("warn", `durable mail consumer interrupted: ${(e as Error).message}; resuming`)
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 250))
    }
  }
  const running = loop()

  return {
    get delivered() {
      return stats.delivered
    },
    get retried() {
      return stats.retried
    },
    get deadLettered() {
      return stats.deadLettered
    },
    get inflight() {
      return inflight.size
    },
    async stop() {
      stopped = true
      const closing = iter?.close().catch(() => iter?.stop())
      await within(closing, 2_000)
      // deliveries still waiting after that are not acked here: the server redelivers them after the ack wait
      await within(Promise.all([...inflight]), Math.min(o.deliveryTimeoutMs ?? MAIL_DEFAULTS.deliveryTimeoutMs, 10_000) + 1_000)
      await within(running, 1_000)
    },
  }
}
