/**
 * The spans of the runtime, through `@opentelemetry/api` only: no span is made and no header
 * is added until an OpenTelemetry SDK is installed (by `startTracing`, or by the application
 * itself), so with tracing off each traced place costs one check (`tracingActive()`, a read of
 * the global provider). Every helper returns `undefined` when tracing is off; callers pass that
 * on unchanged.
 *
 * Span names and attributes (the README lists them): `ants.ask <type>.<Tag>` (client),
 * `ants.tell <type>.<Tag>` and `ants.publish <topic>` (producer), `ants.dispatch <type>.<Tag>`
 * (the node taking a message: server for an ask, consumer for a tell), `ants.handle
 * <type>.<Tag>` (the handler's turn), `ants.checkpoint <type>`, `ants.task <capability>`
 * (one attempt), `chat <model>` (a model call, GenAI conventions) and `execute_tool <name>`.
 */
import { context, ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api"
import type { Msg, MsgHdrs } from "@nats-io/nats-core"
import { ATTR, spanName } from "./attributes.ts"
import { contextFromHeaders, traceHeadersOf, writeTraceContext } from "./trace-headers.ts"

export const TRACER_NAME = "ants"

/** The delegate of a proxy provider no SDK was given: what "tracing off" looks like. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate()

/** Whether an OpenTelemetry SDK is installed (ours or the application's). */
export function tracingActive(): boolean {
  const p = trace.getTracerProvider() as Partial<ProxyTracerProvider>
  return typeof p.getDelegate === "function" ? p.getDelegate() !== NOOP_PROVIDER : true
}

let cachedFor: unknown
let cached: Tracer | undefined
/** The runtime's tracer from the provider installed now (a restarted SDK is a new provider). */
function tracer(): Tracer {
  const p = (trace.getTracerProvider() as Partial<ProxyTracerProvider>).getDelegate?.()
  if (cached === undefined || p !== cachedFor) {
    cachedFor = p
    cached = trace.getTracer(TRACER_NAME)
  }
  return cached
}

/** The address parts a span names (what the caller knows of its target). */
export interface SpanTarget {
  readonly tenant?: string
  readonly type?: string
  readonly id?: string
  readonly tag?: string
}

function messagingAttributes(subject: string, operation: string, t: SpanTarget | undefined, bytes: number | undefined): Attributes {
  const a: Attributes = { "messaging.system": "nats", "messaging.destination.name": subject, "messaging.operation.name": operation }
  if (bytes !== undefined) a["messaging.message.body.size"] = bytes
  if (t !== undefined) {
    if (t.tenant !== undefined) a[ATTR.tenant] = t.tenant
    if (t.type !== undefined) a[ATTR.agentType] = t.type
    if (t.id !== undefined) a[ATTR.agentId] = t.id
    if (t.tag !== undefined) a[ATTR.messageTag] = t.tag
  }
  return a
}

const nameOf = (op: string, subject: string, t: SpanTarget | undefined) => (t?.type !== undefined && t.tag !== undefined ? spanName(op, `${t.type}.${t.tag}`) : spanName(op, subject))

/**
 * A caller's span for an outgoing message (an ask, a tell, a topic event, a task), a child of
 * the active context (a handler's span when the caller is an actor); undefined when tracing is
 * off. Its context goes out in the message's headers (`headersFor`).
 */
export function startSendSpan(op: "ask" | "tell" | "publish" | "submit", subject: string, target?: SpanTarget, bytes?: number): Span | undefined {
  if (!tracingActive()) return undefined
  const kind = op === "ask" ? SpanKind.CLIENT : SpanKind.PRODUCER
  const attributes = messagingAttributes(subject, op, target, bytes)
  attributes["messaging.operation.type"] = "send"
  return tracer().startSpan(nameOf(op, subject, target), { kind, attributes })
}

/** Headers carrying `span`'s context (added to `base` when given); undefined without a span. */
export function headersFor(span: Span | undefined, base?: MsgHdrs): MsgHdrs | undefined {
  if (span === undefined) return base
  return base === undefined ? traceHeadersOf(span.spanContext()) : writeTraceContext(base, span.spanContext())
}

/**
 * The span of the synchronous stretch running now (a node's dispatch of one message): read by
 * `injectActive` and `markActiveRefused` before the context manager. Dispatch is synchronous
 * from the message's arrival to its mailbox, so a slot set around it is enough, and it saves
 * entering the async context (AsyncLocalStorage) once per message.
 */
let syncSpan: Span | undefined

/** Runs the synchronous `fn` with `span` as the sync slot's span (see `syncSpan`). */
export function withSyncSpan<T>(span: Span, fn: () => T): T {
  const outer = syncSpan
  syncSpan = span
  try {
    return fn()
  } finally {
    syncSpan = outer
  }
}

/** The sync slot's span, else the context's active span. */
function currentSpan(): Span | undefined {
  return syncSpan ?? trace.getActiveSpan()
}

/**
 * Writes the current span's context into `h` (a message passed on by code running in a traced
 * context: a forwarding hop, a topic event turned into a tell). Returns whether it did.
 */
export function injectActive(h: MsgHdrs): boolean {
  if (!tracingActive()) return false
  const span = currentSpan()
  if (span === undefined) return false
  writeTraceContext(h, span.spanContext())
  return true
}

/** Ends a span, marking it an error when `error` is given (an Error, or an envelope code and message). */
export function endSpan(span: Span | undefined, error?: unknown, code?: string): void {
  if (span === undefined) return
  if (error !== undefined || code !== undefined) {
    if (code !== undefined) span.setAttribute(ATTR.errorCode, code)
    const message = error instanceof Error ? error.message : typeof error === "string" ? error : code
    span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) })
    if (error instanceof Error) span.recordException(error)
  }
  span.end()
}

/** Ends `span` when `p` settles (an error when it rejects); returns `p` itself when there is no span. */
export function endWith<T>(span: Span | undefined, p: Promise<T>): Promise<T> {
  if (span === undefined) return p
  return p.then(
    (v) => {
      endSpan(span)
      return v
    },
    (e) => {
      endSpan(span, e, (e as { code?: string })?.code)
      throw e
    },
  )
}

/**
 * The node's span for a message it took from NATS (child of the `traceparent` the message
 * carries, else a new trace); undefined when tracing is off.
 */
export function startDispatchSpan(msg: Msg, nodeId: string): Span | undefined {
  if (!tracingActive()) return undefined
  const parent = contextFromHeaders(msg.headers)
  const attributes = messagingAttributes(msg.subject, "dispatch", undefined, msg.data.length)
  attributes["messaging.operation.type"] = "process"
  attributes[ATTR.nodeId] = nodeId
  return tracer().startSpan(spanName("dispatch", msg.subject), { kind: msg.reply ? SpanKind.SERVER : SpanKind.CONSUMER, attributes }, parent)
}

/** Names the dispatch span after the message's type and tag once the subject is parsed. */
export function nameDispatch(span: Span | undefined, t: SpanTarget): void {
  if (span === undefined) return
  span.updateName(spanName("dispatch", `${t.type}.${t.tag}`))
  if (t.tenant !== undefined) span.setAttribute(ATTR.tenant, t.tenant)
  if (t.type !== undefined) span.setAttribute(ATTR.agentType, t.type)
  if (t.id !== undefined) span.setAttribute(ATTR.agentId, t.id)
  if (t.tag !== undefined) span.setAttribute(ATTR.messageTag, t.tag)
}

/** Runs `fn` with `span` as the active span (what it sends becomes the span's children); plain call without a span. */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  if (span === undefined) return fn()
  return context.with(trace.setSpan(context.active(), span), fn)
}

/** A child span of `parent` (a span, or a context), or of the active context; undefined when tracing is off. */
export function startChildSpan(name: string, attributes: Attributes, parent?: Span | Context, kind: SpanKind = SpanKind.INTERNAL): Span | undefined {
  if (!tracingActive()) return undefined
  const ctx = parent === undefined ? context.active() : "spanContext" in parent ? trace.setSpan(context.active(), parent) : parent
  return tracer().startSpan(name, { kind, attributes }, ctx)
}

/**
 * A span only when the active context already has one: work that happens inside a traced
 * operation (a checkpoint written for a handler) is shown in its trace, and the same work done
 * on a timer (a passivation) makes no trace of its own.
 */
export function startInnerSpan(name: string, attributes: Attributes): Span | undefined {
  if (!tracingActive() || trace.getActiveSpan() === undefined) return undefined
  return tracer().startSpan(name, { kind: SpanKind.INTERNAL, attributes })
}

/** A child of the trace a message's headers carry (a task attempt, a routed event). */
export function startSpanFromHeaders(name: string, h: MsgHdrs | undefined, attributes: Attributes, kind: SpanKind = SpanKind.CONSUMER): Span | undefined {
  if (!tracingActive()) return undefined
  return tracer().startSpan(name, { kind, attributes }, contextFromHeaders(h))
}

/** Marks the active span (a dispatch span) as a refusal with the envelope code it was answered with. */
export function markActiveRefused(code: string, message: string): void {
  if (!tracingActive()) return
  const span = currentSpan()
  if (span === undefined) return
  span.setAttribute(ATTR.errorCode, code)
  span.setStatus({ code: SpanStatusCode.ERROR, message })
}

/**
 * The span of a handler's turn, a child of the node's dispatch span `parent`; undefined when
 * there is no parent or tracing went off meanwhile.
 */
export function startTurnSpan(parent: Span | undefined, actor: { readonly tenant: string; readonly type: string; readonly id: string }, tag: string, nodeId: string): Span | undefined {
  if (parent === undefined || !tracingActive()) return undefined
  return tracer().startSpan(
    spanName("handle", `${actor.type}.${tag}`),
    { kind: SpanKind.INTERNAL, attributes: { [ATTR.tenant]: actor.tenant, [ATTR.agentType]: actor.type, [ATTR.agentId]: actor.id, [ATTR.messageTag]: tag, [ATTR.nodeId]: nodeId } },
    trace.setSpan(ROOT_CONTEXT, parent),
  )
}

/** The active span's context as header entries (a JetStream publish given headers as a record: a task). */
export function activeTraceRecord(): Record<string, string> | undefined {
  if (!tracingActive()) return undefined
  const span = trace.getActiveSpan()
  if (span === undefined) return undefined
  const h = traceHeadersOf(span.spanContext())
  const out: Record<string, string> = {}
  for (const [k, vs] of h) if (vs[0] !== undefined) out[k] = vs[0]
  return out
}

/** One attempt of a task on a worker, a child of the trace its submitter's headers carry. */
export function startTaskSpan(task: { readonly id: string; readonly tenant: string; readonly capability: string }, attempt: number, headers: () => MsgHdrs | undefined): Span | undefined {
  // the headers are read only with tracing on: reading them parses them
  if (!tracingActive()) return undefined
  let h: MsgHdrs | undefined
  try {
    h = headers()
  } catch {
    // headers that do not parse start a new trace: a span never changes what a task does
  }
  return startSpanFromHeaders(spanName("task", task.capability), h, {
    "messaging.system": "nats",
    "messaging.operation.type": "process",
    [ATTR.tenant]: task.tenant,
    [ATTR.taskId]: task.id,
    [ATTR.taskCapability]: task.capability,
    [ATTR.taskAttempt]: attempt,
  })
}

/** A state checkpoint written inside a traced turn (not one written on a timer: see `startInnerSpan`). */
export function startCheckpointSpan(actor: { readonly tenant: string; readonly type: string; readonly id: string }, bytes: number): Span | undefined {
  return startInnerSpan(spanName("checkpoint", actor.type), { [ATTR.tenant]: actor.tenant, [ATTR.agentType]: actor.type, [ATTR.agentId]: actor.id, [ATTR.stateBytes]: bytes })
}
