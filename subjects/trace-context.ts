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
  // checked by character rather than by a regular expression: every traced message is read here
  const v = value.length > 55 && (value.charCodeAt(0) <= 32 || value.charCodeAt(value.length - 1) <= 32) ? value.trim() : value
  if (v.length < 55 || v.charCodeAt(2) !== DASH || v.charCodeAt(35) !== DASH || v.charCodeAt(52) !== DASH || !lowerHex(v, 0, 2) || !lowerHex(v, 3, 35) || !lowerHex(v, 36, 52) || !lowerHex(v, 53, 55)) return undefined
  const version = v.slice(0, 2)
  // version 00 is exactly 55 characters; a later version may add fields after a dash
  if (version === "ff" || (version === "00" ? v.length !== 55 : v.length > 55 && v.charCodeAt(55) !== DASH)) return undefined
  const traceId = v.slice(3, 35)
  const spanId = v.slice(36, 52)
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
  return { traceId, spanId, traceFlags: parseInt(v.slice(53, 55), 16) }
}

const DASH = 45
/** Whether `s[from, to)` is lowercase hex digits. */
function lowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
  }
  return true
}
