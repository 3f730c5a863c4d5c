/**
 * W3C Trace Context in NATS headers: the wire form of a trace crossing a hop. Every ask, tell,
 * topic event and task a traced caller sends carries `traceparent` (and `tracestate` when the
 * trace has one) as NATS message headers, exactly as an HTTP request carries them
 * (https://www.w3.org/TR/trace-context/), so a client in any language continues the trace by
 * setting the same two headers. Pure code: formatting and parsing only.
 *
 *     traceparent: 00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>
 */

export const TRACEPARENT_HEADER = "traceparent"
export const TRACESTATE_HEADER = "tracestate"

/** The fields of a `traceparent` header (version 00). */
export interface TraceParent {
  readonly traceId: string
  readonly spanId: string
  /** Bit 0: sampled. */
  readonly traceFlags: number
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE = "00000000000000000000000000000000"
const ZERO_SPAN = "0000000000000000"

export function formatTraceParent(p: TraceParent): string {
  return `00-${p.traceId}-${p.spanId}-${p.traceFlags < 16 ? "0" : ""}${(p.traceFlags & 0xff).toString(16)}`
}

/**
 * Reads a `traceparent` value; undefined when it is not one (the spec says to ignore it then
 * and start a new trace). Version ff and all-zero ids are invalid; a later version's extra
 * fields are ignored, as the spec asks.
 */
export function parseTraceParent(value: string | undefined): TraceParent | undefined {
  if (value === undefined || value.length < 55) return undefined
  const m = TRACEPARENT.exec(value.trim())
  if (m === null) return undefined
  const [, version, traceId, spanId, flags, rest] = m
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
  return { traceId: traceId!, spanId: spanId!, traceFlags: parseInt(flags!, 16) }
}
