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
 *
 * What a traced message costs is kept to what the SDK itself must do. Attributes are built only
 * for a span that records (samplers here are given none: the SDK's samplers read only the
 * parent and the trace id). Under a sampler that follows its parent (every `parentbased_*`
 * one, the default), a message whose `traceparent` says "not sampled" gets no span at all: the
 * parent's context, wrapped, stands in for the dispatch, handler and send spans, and is what
 * goes on in headers, so the trace id still travels and nothing is made, sampled or exported.
 * With `startTracing`'s own samplers the unsampled path does not reach the SDK at all
 * (unsampled.ts): a root is decided as the SDK's ratio sampler would decide it, and an
 * unsampled one is two ids and a `traceparent` with flags 00; the node reads that flag from the
 * raw header bytes before anything parses the headers. An application's SDK (a sampler we do
 * not know) is asked for every span, as before.
 */
import { context, ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type SpanContext, type Tracer } from "@opentelemetry/api"
import type { Msg, MsgHdrs } from "@nats-io/nats-core"
import { ATTR, spanName } from "./attributes.ts"
import { contextFromHeaders, spanContextFromHeaders, traceHeadersOf, writeTraceContext } from "./trace-headers.ts"
import { drawRoot, rawTraceParent, remoteContextOf, TraceHeaders, UnsampledSpan, type PresetIdGenerator } from "./unsampled.ts"

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

/**
 * Whether the installed sampler follows the parent's decision (set by `startTracing` for its
 * own `parentbased_*` samplers; false for an SDK the application installed, whose sampler we
 * do not know, and for samplers that decide on their own).
 */
let parentDecides = false

/** Declares whether the sampler installed now follows the parent's decision (see `unsampledStandIn`). */
export function setParentDecides(v: boolean): void {
  parentDecides = v
}

/**
 * How the installed sampler decides a root, when that is known (`startTracing`'s own samplers
 * other than always-on): the TraceIdRatioBased bound (0 for always-off), with the id generator
 * the provider was given, which takes a sampled root's preset trace id. Undefined: every root
 * goes through the SDK (an application's SDK, whose sampler we do not know, or always-on).
 */
let rootDecision: { readonly bound: number; readonly ids: PresetIdGenerator } | undefined

/** Declares how the installed sampler decides a root (see `rootDecision`); undefined to ask the SDK. */
export function setRootDecision(d: { readonly bound: number; readonly ids: PresetIdGenerator } | undefined): void {
  rootDecision = d
}

/**
 * The span that stands in for a child of `parent` when the parent was not sampled and the
 * sampler follows it: the child would be a non-recording span anyway, so the parent's context,
 * wrapped, takes its place (no sampler call, no new id, nothing to end). Undefined otherwise.
 */
function unsampledStandIn(parent: Span | undefined): Span | undefined {
  if (!parentDecides || parent === undefined) return undefined
  if (parent instanceof UnsampledSpan) return parent
  const sc = parent.spanContext()
  return (sc.traceFlags & 1) === 1 ? undefined : trace.wrapSpanContext(sc)
}

/** The address parts a span names (what the caller knows of its target). */
export interface SpanTarget {
  readonly tenant?: string
  readonly type?: string
  readonly id?: string
  readonly tag?: string
}

/** A span's messaging and address attributes (only the address when `subject` is undefined). */
function messagingAttributes(subject: string | undefined, operation: string | undefined, t: SpanTarget | undefined, bytes: number | undefined): Attributes {
  const a: Attributes = subject === undefined ? {} : { "messaging.system": "nats", "messaging.destination.name": subject, "messaging.operation.name": operation }
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
export function startSendSpan(op: "ask" | "tell" | "publish" | "submit", subject: string, target?: SpanTarget, bytes?: number, parent: Span | undefined = currentSpan()): Span | undefined {
  if (!tracingActive()) return undefined
  const start = () => tracer().startSpan(nameOf(op, subject, target), { kind: op === "ask" ? SpanKind.CLIENT : SpanKind.PRODUCER }, parentContext(parent))
  let span: Span
  if (parent === undefined && rootDecision !== undefined) {
    // a root whose sampler is known: decided here, and an unsampled one never reaches the SDK
    const root = drawRoot(rootDecision.bound)
    if (!root.sampled) return UnsampledSpan.root(root.traceId, root.spanId)
    span = rootDecision.ids.preset(root.traceId, start)
  } else {
    const standIn = parentDecides ? unsampledStandIn(parent) : undefined
    if (standIn !== undefined) return standIn
    span = start()
  }
  if (span.isRecording()) {
    const attributes = messagingAttributes(subject, op, target, bytes)
    attributes["messaging.operation.type"] = "send"
    span.setAttributes(attributes)
  }
  return span
}

/** Headers carrying `span`'s context (added to `base` when given); undefined without a span. */
export function headersFor(span: Span | undefined, base?: MsgHdrs): MsgHdrs | undefined {
  if (span === undefined) return base
  if (base === undefined) return span instanceof UnsampledSpan ? new TraceHeaders(span.traceParent()) : traceHeadersOf(span.spanContext())
  return writeTraceContext(base, span.spanContext())
}

/**
 * The span of the synchronous stretch running now (a node's dispatch of one message, a plain
 * handler's turn): read before the context manager wherever a span finds its parent (sends,
 * `injectActive`, `markActiveRefused`, task headers). Dispatch is synchronous from the
 * message's arrival to its mailbox, and so is a handler that is not `async`, so a slot set
 * around them is enough: no AsyncLocalStorage is entered, and as long as nothing enters one,
 * Node runs no async hook for any promise of the process (with one entered, every promise
 * created afterwards pays for it: about 1 to 2 µs of CPU per ask, measured).
 */
let syncSpan: Span | undefined

/**
 * Makes `span` the sync slot's span (see `syncSpan`) and returns the one it replaces, which the
 * caller hands back to `leaveSyncSpan` in a `finally` (two calls instead of a closure per message).
 */
export function enterSyncSpan(span: Span): Span | undefined {
  const outer = syncSpan
  syncSpan = span
  return outer
}

/** Restores the sync slot `enterSyncSpan` replaced. */
export function leaveSyncSpan(outer: Span | undefined): void {
  syncSpan = outer
}

/** Whether a sync slot is set now (never with tracing off). */
export function inSyncSpan(): boolean {
  return syncSpan !== undefined
}

/**
 * Runs `fn` with the sync slot empty: a turn of an untraced message run inside another
 * message's dispatch (a mailbox drained there) must not take that dispatch's span for its parent.
 */
export function outsideSyncSpan<T>(fn: () => T): T {
  if (syncSpan === undefined) return fn()
  const outer = syncSpan
  syncSpan = undefined
  try {
    return fn()
  } finally {
    syncSpan = outer
  }
}

/** Runs the synchronous `fn` with `span` as the sync slot's span (see `syncSpan`). */
export function withSyncSpan<T>(span: Span, fn: () => T): T {
  const outer = enterSyncSpan(span)
  try {
    return fn()
  } finally {
    leaveSyncSpan(outer)
  }
}

/** The sync slot's span, else the context's active span. */
function currentSpan(): Span | undefined {
  return syncSpan ?? trace.getActiveSpan()
}

/** The context to start a child of `parent` in (undefined: the active one, `parent` being its span or none). */
function parentContext(parent: Span | undefined): Context | undefined {
  if (parent === undefined) return undefined
  const active = context.active()
  return trace.getSpan(active) === parent ? undefined : trace.setSpan(active, parent)
}

/**
 * The span what is sent now would be a child of (the sync slot's, else the active context's);
 * for work that starts sending only after an await (a task submission), which takes it first.
 */
export function traceParentNow(): Span | undefined {
  return tracingActive() ? currentSpan() : undefined
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

/** Ends `span` when `p` settles (an error when it rejects); returns `p` itself when there is no span or it records nothing. */
export function endWith<T>(span: Span | undefined, p: Promise<T>): Promise<T> {
  // a non-recording span's end does nothing: no promise is chained for it
  if (span === undefined || !span.isRecording()) return p
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
 * carries, else a new trace), named after the message's type and tag when its subject parsed
 * (`target`), else after the subject; undefined when tracing is off.
 */
export function startDispatchSpan(msg: Msg, nodeId: string, target?: SpanTarget): Span | undefined {
  if (!tracingActive()) return undefined
  // the runtime's own header, read raw (the same answer as the parsed headers, without parsing
  // them): an unsampled parent under a parent-based sampler costs no SDK call at all
  const raw = rawTraceParent(msg)
  if (parentDecides && raw !== undefined && !raw.sampled) return UnsampledSpan.remote(raw.bytes)
  const remote = raw !== undefined ? remoteContextOf(raw.bytes, raw.sampled) : msg.headers === undefined ? undefined : spanContextFromHeaders(msg.headers)
  if (parentDecides && remote !== undefined && (remote.traceFlags & 1) === 0) return trace.wrapSpanContext(remote)
  const parent = remote === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, remote)
  const span = tracer().startSpan(nameOf("dispatch", msg.subject, target), { kind: msg.reply ? SpanKind.SERVER : SpanKind.CONSUMER }, parent)
  if (span.isRecording()) {
    const attributes = messagingAttributes(msg.subject, "dispatch", target, msg.data.length)
    attributes["messaging.operation.type"] = "process"
    attributes[ATTR.nodeId] = nodeId
    span.setAttributes(attributes)
  }
  return span
}

/** Runs `fn` with `span` as the active span (what it sends becomes the span's children); plain call without a span. */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  if (span === undefined) return fn()
  // the slot too: a slot set outside (a dispatch, a turn) must not stand for `span` in its synchronous part
  const outer = enterSyncSpan(span)
  try {
    return context.with(trace.setSpan(context.active(), span), fn)
  } finally {
    leaveSyncSpan(outer)
  }
}

const AsyncFunction = (async () => undefined).constructor

/**
 * Runs a handler's turn in its span. A handler declared `async` goes on after its awaits, where
 * only the context manager carries the span, so its turn enters it (`withSpan`); a plain
 * handler sends what it sends before it returns, so the sync slot carries its span and no
 * AsyncLocalStorage is entered (see `syncSpan`). Both set the slot, so the turn's span, not the
 * dispatch span around it, is the parent of what the turn's synchronous part sends. A plain
 * handler that returns a promise has its span passed only to what it sends before returning.
 */
export function withTurnSpan<T>(span: Span, handler: unknown, fn: () => T): T {
  return handler instanceof AsyncFunction ? withSpan(span, fn) : withSyncSpan(span, fn)
}

/** A child span of `parent` (a span, or a context), or of the active context; undefined when tracing is off. */
export function startChildSpan(name: string, attributes: Attributes, parent?: Span | Context, kind: SpanKind = SpanKind.INTERNAL): Span | undefined {
  if (!tracingActive()) return undefined
  const ctx = parent === undefined ? (parentContext(currentSpan()) ?? context.active()) : "spanContext" in parent ? trace.setSpan(context.active(), parent) : parent
  return tracer().startSpan(name, { kind, attributes }, ctx)
}

/**
 * A span only inside a traced operation (the sync slot's or the active context's span): work
 * done for it is shown in its trace, and the same work done on a timer makes no trace of its own.
 */
export function startInnerSpan(name: string, attributes: Attributes): Span | undefined {
  if (!tracingActive()) return undefined
  const parent = currentSpan()
  if (parent === undefined) return undefined
  return tracer().startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parentContext(parent))
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
  if (span === undefined || !span.isRecording()) return
  span.setAttribute(ATTR.errorCode, code)
  span.setStatus({ code: SpanStatusCode.ERROR, message })
}

/**
 * The span of a handler's turn, a child of the node's dispatch span `parent`; undefined when
 * there is no parent or tracing went off meanwhile. It repeats none of its parent's attributes
 * (tenant, type, id, tag, node): five attributes fewer to set, keep and serialize per traced
 * message. `actor` and `nodeId` stay in the signature for its name and for callers.
 */
export function startTurnSpan(parent: Span | undefined, actor: { readonly tenant: string; readonly type: string; readonly id: string }, tag: string, nodeId: string): Span | undefined {
  if (parent === undefined || !tracingActive()) return undefined
  // a stand-in for an unsampled parent stands in for the turn too
  if (parent instanceof UnsampledSpan || (parentDecides && !parent.isRecording() && (parent.spanContext().traceFlags & 1) === 0)) return parent
  // no attributes: its parent, the node's dispatch of the same message, carries the address and the node
  return tracer().startSpan(spanName("handle", `${actor.type}.${tag}`), { kind: SpanKind.INTERNAL }, trace.setSpan(ROOT_CONTEXT, parent))
}

/** The active span's context as header entries (a JetStream publish given headers as a record: a task). */
export function activeTraceRecord(): Record<string, string> | undefined {
  if (!tracingActive()) return undefined
  const span = currentSpan()
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

/**
 * A state checkpoint written for a traced turn, a child of the turn's span `parent` (passed by
 * the turn, so a write that starts after another one finished still finds it); none without a
 * parent (a write made on a timer, a passivation) or when the parent is an unsampled stand-in.
 */
export function startCheckpointSpan(actor: { readonly tenant: string; readonly type: string; readonly id: string }, bytes: number, parent: Span | undefined): Span | undefined {
  if (parent === undefined || parent instanceof UnsampledSpan || !tracingActive() || (parentDecides && (parent.spanContext().traceFlags & 1) === 0)) return undefined
  const span = tracer().startSpan(spanName("checkpoint", actor.type), { kind: SpanKind.INTERNAL }, trace.setSpan(ROOT_CONTEXT, parent))
  if (span.isRecording()) span.setAttributes({ [ATTR.tenant]: actor.tenant, [ATTR.agentType]: actor.type, [ATTR.agentId]: actor.id, [ATTR.stateBytes]: bytes })
  return span
}
