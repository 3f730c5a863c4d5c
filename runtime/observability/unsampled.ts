/**
 * The unsampled path, made without the SDK where the installed sampler's answer is known
 * (`startTracing`'s own samplers: the SDK's AlwaysOff, TraceIdRatioBased and their ParentBased
 * forms). W3C trace context still travels: an unsampled root still gets a trace id and a span
 * id and sends `traceparent` with flags 00, so every parent-based sampler downstream follows
 * the decision and the trace id still reaches the handlers; only no SDK span object, no
 * attribute and no name string is made for it.
 *
 * - A root's decision (`drawRoot`): 24 random bytes (from a pool refilled every 256 draws) are
 *   its trace and span id; the decision is the SDK TraceIdRatioBasedSampler's on that trace id
 *   (the four 32-bit words of the id XORed, below the ratio's bound), so a process running the
 *   SDK's sampler decides the same trace the same way. A sampled root is handed to the SDK
 *   with this very trace id (`PresetIdGenerator`), so the ratio is exactly the configured one.
 * - A message whose headers are exactly one `traceparent` (what the runtime sends) is read from
 *   the raw header bytes (`rawTraceParent`): its flags are checked before nats.js parses the
 *   headers or any SDK call is made.
 * - `UnsampledSpan` stands for every span of an unsampled trace: non-recording, its context
 *   built only when asked for (a handler reading the active span, a send that passes it on).
 * - `TraceHeaders`: the `traceparent` (and `tracestate`) of an outgoing message, encoded
 *   straight to bytes; nats.js only calls `encode()` on the headers it publishes.
 */
import { randomFillSync } from "node:crypto"
import { headers as natsHeaders, type Msg, type MsgHdrs } from "@nats-io/nats-core"
import type { Exception, Link, Span, SpanAttributes, SpanAttributeValue, SpanContext, SpanStatus, TimeInput } from "@opentelemetry/api"
import type { IdGenerator } from "@opentelemetry/sdk-trace-base"
import { RandomIdGenerator } from "@opentelemetry/sdk-trace-base"
import { TRACEPARENT_HEADER, TRACESTATE_HEADER, formatTraceParent } from "../../subjects/trace-context.ts"

const SLOTS = 256
const SLOT = 24
const pool = Buffer.allocUnsafe(SLOTS * SLOT)
let poolHex = ""
let next = SLOTS

/** A root drawn by `drawRoot`: its ids and whether the sampler samples it. */
export interface DrawnRoot {
  readonly traceId: string
  readonly spanId: string
  readonly sampled: boolean
}

/**
 * The bound of the SDK's TraceIdRatioBasedSampler for `ratio` (a trace is sampled when the XOR
 * of its id's four 32-bit words is below it): 0 samples nothing, 2^32 everything.
 */
export function ratioBound(ratio: number): number {
  const r = typeof ratio !== "number" || Number.isNaN(ratio) ? 0 : ratio >= 1 ? 1 : ratio <= 0 ? 0 : ratio
  return r === 1 ? 0x100000000 : Math.floor(r * 0xffffffff)
}

/** New root ids and the ratio sampler's decision on them (`bound` from `ratioBound`). */
export function drawRoot(bound: number): DrawnRoot {
  if (next === SLOTS) {
    randomFillSync(pool)
    poolHex = pool.toString("hex")
    next = 0
  }
  const i = next++
  const o = i * SLOT
  let w = (pool.readUInt32BE(o) ^ pool.readUInt32BE(o + 4) ^ pool.readUInt32BE(o + 8) ^ pool.readUInt32BE(o + 12)) >>> 0
  const h = o * 2
  let traceId = poolHex.slice(h, h + 32)
  let spanId = poolHex.slice(h + 32, h + 48)
  // all-zero ids are invalid (as the SDK's generator, the last byte becomes 1)
  if (traceId === ZERO_TRACE) (traceId = `${ZERO_TRACE.slice(0, 31)}1`), (w = 1)
  if (spanId === ZERO_SPAN) spanId = `${ZERO_SPAN.slice(0, 15)}1`
  return { traceId, spanId, sampled: w < bound }
}

const ZERO_TRACE = "0".repeat(32)
const ZERO_SPAN = "0".repeat(16)

/**
 * The SDK's random ids, except the next trace id when one is preset: a sampled root drawn by
 * `drawRoot` keeps the id its decision was made on. Only the synchronous `startSpan` call that
 * `preset` wraps reads it.
 */
export class PresetIdGenerator implements IdGenerator {
  readonly #random = new RandomIdGenerator()
  #traceId: string | undefined

  generateTraceId(): string {
    const preset = this.#traceId
    if (preset === undefined) return this.#random.generateTraceId()
    this.#traceId = undefined
    return preset
  }

  generateSpanId(): string {
    return this.#random.generateSpanId()
  }

  /** Runs `fn` (a root span's start) with `traceId` as the next trace id. */
  preset<T>(traceId: string, fn: () => T): T {
    this.#traceId = traceId
    try {
      return fn()
    } finally {
      this.#traceId = undefined
    }
  }
}

const HEADER_START = "NATS/1.0\r\ntraceparent: "
const START = Buffer.from(HEADER_START, "latin1")
/** The length of a header block holding exactly one version-00 traceparent. */
const ONE_TRACEPARENT = START.length + 55 + 4

/**
 * The `traceparent` of a message whose header block is exactly that one header (what the
 * runtime sends), read from the raw bytes: `bytes` (55, validated as `parseTraceParent`
 * validates) and whether it is sampled. Undefined for anything else (no headers, other headers,
 * a `tracestate`, another layout, a message not read by nats.js): the caller reads the parsed
 * headers then, as before.
 */
export function rawTraceParent(msg: Msg): { readonly bytes: Uint8Array; readonly sampled: boolean } | undefined {
  const m = msg as unknown as { _msg?: { hdr?: number }; _rdata?: Uint8Array }
  const hdr = m._msg?.hdr
  const data = m._rdata
  if (hdr !== ONE_TRACEPARENT || data === undefined || data.length < hdr) return undefined
  for (let i = 0; i < START.length; i++) if (data[i] !== START[i]) return undefined
  const s = START.length
  if (data[hdr - 4] !== 13 || data[hdr - 3] !== 10 || data[hdr - 2] !== 13 || data[hdr - 1] !== 10) return undefined
  if (data[s + 2] !== DASH || data[s + 35] !== DASH || data[s + 52] !== DASH) return undefined
  // version ff is invalid; any other is read as 00 (55 characters, no more fields here)
  if (data[s] === 102 && data[s + 1] === 102) return undefined
  let traceNonZero = false
  let spanNonZero = false
  for (let i = 0; i < 55; i++) {
    if (i === 2 || i === 35 || i === 52) continue
    const c = data[s + i]!
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return undefined
    if (c !== 48) {
      if (i > 2 && i < 35) traceNonZero = true
      else if (i > 35 && i < 52) spanNonZero = true
    }
  }
  if (!traceNonZero || !spanNonZero) return undefined
  const low = data[s + 54]!
  const sampled = ((low <= 57 ? low - 48 : low - 87) & 1) === 1
  return { bytes: data.subarray(s, s + 55), sampled }
}

const DASH = 45

/** The remote parent `rawTraceParent`'s bytes name (as `spanContextFromHeaders` reads it; the layout has no tracestate). */
export function remoteContextOf(bytes: Uint8Array, sampled: boolean): SpanContext {
  return { traceId: latin1(bytes, 3, 35), spanId: latin1(bytes, 36, 52), traceFlags: sampled ? 1 : 0, isRemote: true }
}

/**
 * A span of an unsampled trace: records nothing, and its context (trace id, the parent's span
 * id, flags 00) is built only when asked for. `remote`: it stands for a parent read from a
 * message (the node's side); else for a root this process decided not to sample.
 */
export class UnsampledSpan implements Span {
  #ctx: SpanContext | undefined
  #traceId: string | undefined
  #spanId: string | undefined
  #bytes: Uint8Array | undefined
  readonly #remote: boolean

  private constructor(traceId: string | undefined, spanId: string | undefined, bytes: Uint8Array | undefined, remote: boolean) {
    this.#traceId = traceId
    this.#spanId = spanId
    this.#bytes = bytes
    this.#remote = remote
  }

  /** An unsampled root's span (ids from `drawRoot`). */
  static root(traceId: string, spanId: string): UnsampledSpan {
    return new UnsampledSpan(traceId, spanId, undefined, false)
  }

  /** The stand-in for an unsampled parent read from a message (`rawTraceParent`'s bytes). */
  static remote(bytes: Uint8Array): UnsampledSpan {
    return new UnsampledSpan(undefined, undefined, bytes, true)
  }

  spanContext(): SpanContext {
    if (this.#ctx !== undefined) return this.#ctx
    this.#ids()
    return (this.#ctx = { traceId: this.#traceId!, spanId: this.#spanId!, traceFlags: 0, isRemote: this.#remote })
  }

  /** The `traceparent` this span passes on (its own ids, flags 00). */
  traceParent(): string {
    if (this.#bytes !== undefined) return latin1(this.#bytes, 0, 53) + "00"
    return `00-${this.#traceId}-${this.#spanId}-00`
  }

  #ids(): void {
    if (this.#traceId !== undefined) return
    const b = this.#bytes!
    this.#traceId = latin1(b, 3, 35)
    this.#spanId = latin1(b, 36, 52)
    this.#bytes = undefined
  }

  setAttribute(_key: string, _value: SpanAttributeValue): this {
    return this
  }
  setAttributes(_attributes: SpanAttributes): this {
    return this
  }
  addEvent(_name: string, _a?: SpanAttributes | TimeInput, _t?: TimeInput): this {
    return this
  }
  addLink(_link: Link): this {
    return this
  }
  addLinks(_links: Link[]): this {
    return this
  }
  setStatus(_status: SpanStatus): this {
    return this
  }
  updateName(_name: string): this {
    return this
  }
  end(_endTime?: TimeInput): void {}
  isRecording(): boolean {
    return false
  }
  recordException(_exception: Exception, _time?: TimeInput): void {}
}

function latin1(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1", from, to)
}

/**
 * The trace headers of an outgoing message: `traceparent` and, when the trace has one,
 * `tracestate`, encoded to their wire bytes at once. Every other use (reading, changing) goes to
 * nats.js headers made from them on first use, so it behaves as nats.js headers do.
 */
export class TraceHeaders implements MsgHdrs {
  readonly #traceParent: string
  readonly #traceState: string | undefined
  #full: MsgHdrs | undefined

  constructor(traceParent: string, traceState?: string) {
    this.#traceParent = traceParent
    this.#traceState = traceState || undefined
  }

  static of(sc: SpanContext): TraceHeaders {
    return new TraceHeaders(formatTraceParent(sc), sc.traceState?.serialize())
  }

  /** The wire form nats.js publishes. */
  encode(): Uint8Array {
    if (this.#full !== undefined) return (this.#full as unknown as { encode(): Uint8Array }).encode()
    const state = this.#traceState === undefined ? "" : `${TRACESTATE_HEADER}: ${this.#traceState}\r\n`
    return Buffer.from(`${HEADER_START}${this.#traceParent}\r\n${state}\r\n`, "latin1")
  }

  #h(): MsgHdrs {
    if (this.#full === undefined) {
      const h = natsHeaders()
      h.set(TRACEPARENT_HEADER, this.#traceParent)
      if (this.#traceState !== undefined) h.set(TRACESTATE_HEADER, this.#traceState)
      this.#full = h
    }
    return this.#full
  }

  get hasError(): boolean {
    return this.#h().hasError
  }
  get status(): string {
    return this.#h().status
  }
  get code(): number {
    return this.#h().code
  }
  get description(): string {
    return this.#h().description
  }
  get(k: string, match?: Parameters<MsgHdrs["get"]>[1]): string {
    return this.#h().get(k, match)
  }
  set(k: string, v: string, match?: Parameters<MsgHdrs["set"]>[2]): void {
    this.#h().set(k, v, match)
  }
  append(k: string, v: string, match?: Parameters<MsgHdrs["append"]>[2]): void {
    this.#h().append(k, v, match)
  }
  has(k: string, match?: Parameters<MsgHdrs["has"]>[1]): boolean {
    return this.#h().has(k, match)
  }
  keys(): string[] {
    return this.#h().keys()
  }
  values(k: string, match?: Parameters<MsgHdrs["values"]>[1]): string[] {
    return this.#h().values(k, match)
  }
  delete(k: string, match?: Parameters<MsgHdrs["delete"]>[1]): void {
    this.#h().delete(k, match)
  }
  last(k: string, match?: Parameters<MsgHdrs["last"]>[1]): string {
    return this.#h().last(k, match)
  }
  [Symbol.iterator](): Iterator<[string, string[]]> {
    return this.#h()[Symbol.iterator]()
  }
}
