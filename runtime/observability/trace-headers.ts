/**
 * Trace context in and out of NATS headers (the wire form is in subjects/trace-context.ts):
 * a span's context written as `traceparent`/`tracestate` on an outgoing message, and the
 * parent context read back from an incoming one. Written by hand rather than through the
 * global propagator: it is two headers, it costs less on a path every message takes, and it
 * does not depend on whether the application registered a propagator.
 */
import { createTraceState, ROOT_CONTEXT, trace, type Context, type SpanContext } from "@opentelemetry/api"
import type { MsgHdrs } from "@nats-io/nats-core"
import { TRACEPARENT_HEADER, TRACESTATE_HEADER, formatTraceParent, parseTraceParent } from "../../subjects/trace-context.ts"
import { TraceHeaders } from "./unsampled.ts"

/** Writes `sc` into `h` (replacing a traceparent already there, as a forwarding hop does). */
export function writeTraceContext(h: MsgHdrs, sc: SpanContext): MsgHdrs {
  h.set(TRACEPARENT_HEADER, formatTraceParent(sc))
  const state = sc.traceState?.serialize()
  if (state) h.set(TRACESTATE_HEADER, state)
  else if (h.has(TRACESTATE_HEADER)) h.delete(TRACESTATE_HEADER)
  return h
}

/** New headers carrying `sc` (encoded to bytes at once; nats.js headers only when read or changed). */
export function traceHeadersOf(sc: SpanContext): MsgHdrs {
  return TraceHeaders.of(sc)
}

/** The remote parent a message's headers name; undefined when they name none (or not validly). */
export function spanContextFromHeaders(h: MsgHdrs): SpanContext | undefined {
  const p = parseTraceParent(h.get(TRACEPARENT_HEADER) || undefined)
  if (p === undefined) return undefined
  const state = h.get(TRACESTATE_HEADER)
  return { traceId: p.traceId, spanId: p.spanId, traceFlags: p.traceFlags & 1, isRemote: true, ...(state ? { traceState: createTraceState(state) } : {}) }
}

/** The remote parent a message's headers name, as a context to start a span in; the root context when none. */
export function contextFromHeaders(h: MsgHdrs | undefined): Context {
  const sc = h === undefined ? undefined : spanContextFromHeaders(h)
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc)
}
