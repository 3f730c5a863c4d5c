/**
 * Typed ask/tell over plain NATS request/reply: what an actor's context and an outside caller
 * both use. Requests go to the public subject `ants.<tenant>.agent.<type>.<id>.<Tag>` and the
 * server's mapping routes them to the owning node, so the caller needs no knowledge of
 * placement. Replies are decoded from the envelope; an error envelope rejects with AskError.
 */
import { CodedError, hasTag } from "../../subjects/errors.ts"
import type { Msg, MsgHdrs, NatsConnection } from "@nats-io/nats-core"
import { errors, headers as natsHeaders } from "@nats-io/nats-core"
import { IDEMPOTENCY_HEADER } from "../../subjects/models.ts"
import { randomUUID } from "node:crypto"
import { agentSubject, DEFAULT_TENANT, topicSubject, type AgentSubjectParts } from "../../subjects/grammar.ts"
import { decodeReply } from "../../subjects/envelope.ts"
import type { AgentRef, ActorRef, AskOptions, DurableTellOptions, DurableTellResult, Messaging, Target } from "../agent/actor-context.ts"
import { publishDurable } from "./durable-tell.ts"
import { requestReply } from "../server/reply-inbox.ts"
import type { ProtocolSpec } from "../agent/protocol.ts"
import { parseIssues } from "../agent/protocol.ts"
import type { Span } from "@opentelemetry/api"
import { endSpan, headersFor, startSendSpan, tracingActive, type SpanTarget } from "../observability/tracing.ts"

export const DEFAULT_ASK_TIMEOUT_MS = 5_000

/** An ask that did not get an `ok` reply. `code` is one of the envelope's error codes. */
export class AskError extends CodedError("AskError") {}

export function isAskError(e: unknown): e is AskError {
  return hasTag(e, "AskError")
}

/**
 * JSON bytes of a message body. `Buffer.from` carves small bodies out of Node's shared pool,
 * where `TextEncoder.encode` allocates a fresh ArrayBuffer each time (a tell's largest cost).
 */
function encodeBody(message: unknown): Uint8Array {
  return Buffer.from(message === undefined ? "{}" : JSON.stringify(message))
}

/**
 * Refuses a body the server would refuse (over its max_payload, read from the connection's
 * INFO) before sending it: the server answers such a publish by closing the connection, and a
 * request would only time out.
 */
export function checkPayload(nc: NatsConnection, subject: string, body: Uint8Array): void {
  const max = nc.info?.max_payload
  if (max !== undefined && max > 0 && body.length > max) {
    throw new AskError("too_large", `message to ${subject} is ${body.length} bytes, over the server's max_payload of ${max} bytes; nothing was sent`, { bytes: body.length, maxPayload: max })
  }
}

/** An ask's headers: its trace context, and the idempotency key it carries (the asked actor's `ctx.idempotencyKey`), if any. */
function askHeaders(span: Span | undefined, idempotencyKey: string | undefined): MsgHdrs | undefined {
  if (idempotencyKey === undefined) return headersFor(span)
  const h = natsHeaders()
  h.set(IDEMPOTENCY_HEADER, idempotencyKey)
  return headersFor(span, h)
}

/**
 * Sends an ask to a subject and unwraps the envelope. Written with `then` rather than
 * `async`/`await`: each async layer adds a promise and a microtask hop to every ask.
 */
export function askSubject(nc: NatsConnection, subject: string, body: Uint8Array, timeoutMs: number, target?: SpanTarget, idempotencyKey?: string): Promise<unknown> {
  let request: Promise<Msg>
  const span = startSendSpan("ask", subject, target, body.length)
  try {
    checkPayload(nc, subject, body)
    request = requestReply(nc, subject, body, timeoutMs, askHeaders(span, idempotencyKey))
  } catch (e) {
    const error = isAskError(e) ? e : toAskError(e, subject, timeoutMs)
    endSpan(span, error, error.code)
    return Promise.reject(error)
  }
  return settleAsk(request, span, unwrapReply, subject, timeoutMs)
}

/**
 * An ask's outcome: `read(reply)`, or the failure as an AskError. A traced ask's span ends in
 * the callback that settles it (a promise chained for it would add a microtask hop to every
 * traced ask, and asks that settle at different depths miss the batched write of the
 * connection's next flush).
 */
function settleAsk<T>(request: Promise<Msg>, span: Span | undefined, read: (reply: Msg) => T, subject: string, timeoutMs: number): Promise<T> {
  // an unsampled span records nothing and its end does nothing
  if (span === undefined || !span.isRecording()) {
    return request.then(read, (e) => {
      throw toAskError(e, subject, timeoutMs)
    })
  }
  return request.then(
    (reply) => {
      let v: T
      try {
        v = read(reply)
      } catch (e) {
        endSpan(span, e, (e as AskError)?.code)
        throw e
      }
      endSpan(span)
      return v
    },
    (e) => {
      const error = toAskError(e, subject, timeoutMs)
      endSpan(span, error, error.code)
      throw error
    },
  )
}

/**
 * Publishes a tell (or event) with the caller's trace context when tracing is on. The target is
 * its address and tag apart, put together only for a span (nothing is built per message when
 * tracing is off).
 */
function sendTraced(nc: NatsConnection, op: "tell" | "publish", subject: string, body: Uint8Array, address?: Omit<SpanTarget, "tag">, tag?: string): void {
  if (!tracingActive()) return nc.publish(subject, body)
  const span = startSendSpan(op, subject, address === undefined ? undefined : { ...address, tag }, body.length)
  if (span === undefined) return nc.publish(subject, body)
  try {
    nc.publish(subject, body, { headers: headersFor(span) })
  } finally {
    span.end()
  }
}

/** An ask's reply envelope, unwrapped: its value, or the AskError it carries. */
function unwrapReply(reply: Msg): unknown {
  const env = decodeReply(reply.data)
  if (env.ok) return env.value
  throw new AskError(env.error.code, env.error.message, env.error.details)
}

function toAskError(e: unknown, subject: string, timeoutMs: number): AskError {
  if (e instanceof errors.RequestError && e.isNoResponders()) {
    return new AskError("unavailable", `no runtime node serves ${subject}: start one with \`npx ants node --agents <module>\``, undefined, { cause: e })
  }
  if (e instanceof errors.TimeoutError || (e instanceof Error && e.name === "TimeoutError")) {
    return new AskError("timeout", `no reply to ${subject} within ${timeoutMs} ms`, undefined, { cause: e })
  }
  if (e instanceof errors.RequestError && e.cause instanceof errors.TimeoutError) {
    return new AskError("timeout", `no reply to ${subject} within ${timeoutMs} ms`, undefined, { cause: e })
  }
  return new AskError("unavailable", `request to ${subject} failed: ${(e as Error).message}`, undefined, { cause: e })
}

export interface ClientOptions {
  /** The tenant used when a target names none. Default `default`. */
  readonly tenant?: string
  readonly timeoutMs?: number
}

/**
 * A messaging client bound to a connection and a default tenant. Typed refs encode the message
 * with the protocol's schema before sending (so a caller's mistake fails locally, without a
 * round trip) and decode the reply with the reply schema.
 */
export function createMessaging(nc: NatsConnection, options: ClientOptions = {}): Messaging {
  const defaultTenant = options.tenant ?? DEFAULT_TENANT
  const defaultTimeout = options.timeoutMs ?? DEFAULT_ASK_TIMEOUT_MS
  const typeName = (agent: AgentRef<any> | string) => (typeof agent === "string" ? agent : agent.type)
  const durable = async (parts: AgentSubjectParts, body: Uint8Array, opts?: DurableTellOptions): Promise<DurableTellResult> => {
    try {
      return await publishDurable(nc, parts, body, opts?.msgId ?? randomUUID())
    } catch (e) {
      if (isAskError(e) || (e as { _tag?: string })?._tag === "SubjectError") throw e
      throw new AskError("unavailable", `durable tell to ${parts.type}/${parts.id} was not stored: ${(e as Error).message} (is a runtime node running? it creates stream ants_mail)`, undefined, { cause: e })
    }
  }

  const messaging: Messaging = {
    ref<P extends ProtocolSpec>(agent: AgentRef<P>, id: string, tenant?: string): ActorRef<P> {
      const address = { tenant: tenant ?? defaultTenant, type: agent.type, id }
      const subjects = new Map<string, string>()
      const subjectOf = (tag: string) => {
        let s = subjects.get(tag)
        if (s === undefined) {
          s = agentSubject({ ...address, tag })
          subjects.set(tag, s)
        }
        return s
      }
      const encode = (tag: string, message: unknown): Uint8Array => {
        const c = agent.protocol.compiled.get(tag)
        if (!c) throw new AskError("unknown_tag", `agent "${agent.type}" has no tag "${tag}"`)
        const r = c.encodeMessage(message ?? {})
        if (r._tag === "Left") {
          throw new AskError("invalid_message", `message for ${agent.type}.${tag} does not fit its schema`, parseIssues(r.left))
        }
        return encodeBody(r.right)
      }
      return {
        address,
        ask(tag, message, opts?: AskOptions) {
          // a bad tag, id or message rejects the promise, as from an async function
          const timeoutMs = opts?.timeoutMs ?? defaultTimeout
          let subject: string
          let request: Promise<Msg>
          let span: ReturnType<typeof startSendSpan>
          try {
            subject = subjectOf(tag)
            const body = encode(tag, message)
            checkPayload(nc, subject, body)
            span = tracingActive() ? startSendSpan("ask", subject, { ...address, tag }, body.length) : undefined
            try {
              request = requestReply(nc, subject, body, timeoutMs, askHeaders(span, opts?.idempotencyKey))
            } catch (e) {
              throw toAskError(e, subject, timeoutMs)
            }
          } catch (e) {
            endSpan(span, e, (e as { code?: string })?.code)
            return Promise.reject(e)
          }
          const read = (reply: Msg) => {
            const r = agent.protocol.compiled.get(tag)!.decodeReply(unwrapReply(reply))
            if (r._tag === "Left") {
              throw new AskError("invalid_message", `reply from ${agent.type}.${tag} does not fit its schema`, parseIssues(r.left))
            }
            return r.right as never
          }
          return settleAsk(request, span, read, subject, timeoutMs)
        },
        tell(tag, message) {
          const subject = subjectOf(tag)
          const body = encode(tag, message)
          checkPayload(nc, subject, body)
          sendTraced(nc, "tell", subject, body, address, tag)
        },
        tellDurable(tag, message, opts?: DurableTellOptions) {
          return durable({ ...address, tag }, encode(tag, message), opts)
        },
      }
    },
    ask(target: Target, tag: string, message: unknown, opts?: AskOptions) {
      let subject: string
      let body: Uint8Array
      const parts = { tenant: target.tenant ?? defaultTenant, type: typeName(target.agent), id: target.id, tag }
      try {
        subject = agentSubject(parts)
        body = encodeBody(message)
      } catch (e) {
        return Promise.reject(e)
      }
      return askSubject(nc, subject, body, opts?.timeoutMs ?? defaultTimeout, parts, opts?.idempotencyKey)
    },
    tell(target: Target, tag: string, message: unknown) {
      const parts = { tenant: target.tenant ?? defaultTenant, type: typeName(target.agent), id: target.id, tag }
      const subject = agentSubject(parts)
      const body = encodeBody(message)
      checkPayload(nc, subject, body)
      sendTraced(nc, "tell", subject, body, parts, tag)
    },
    tellDurable(target: Target, tag: string, message: unknown, opts?: DurableTellOptions) {
      return durable({ tenant: target.tenant ?? defaultTenant, type: typeName(target.agent), id: target.id, tag }, encodeBody(message), opts)
    },
  }
  return messaging
}

/** Publishes a JSON event to a topic of a tenant. */
export function publishTopic(nc: NatsConnection, tenant: string, topic: string, data: unknown): void {
  sendTraced(nc, "publish", topicSubject(tenant, topic), encodeBody(data), { tenant })
}
