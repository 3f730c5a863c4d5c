/**
 * Turns whatever an SDK throws into a `ProviderError` whose kind tells the router what to do.
 * Both SDKs (openai, @anthropic-ai/sdk) throw `APIError`s carrying `status` and `headers`, and
 * connection errors named `APIConnectionError` / `APIConnectionTimeoutError`; checked by shape
 * and name, not by class, so one function serves both. Also the small readers both providers
 * share (arguments, usage, finish reasons).
 */
import { ProviderError, type ProviderErrorKind } from "./errors.ts"
import type { FinishReason, ModelRequest, Provider, ProviderAnswer, ProviderCallOptions } from "./types.ts"

const CONTEXT = /context[_ ]length|context window|maximum context|prompt is too long|too many tokens|exceeds? the (model'?s )?(maximum )?context/i

/** Milliseconds to wait from `retry-after-ms`, or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: unknown, now: number = Date.now()): number | undefined {
  const get = (name: string): string | null | undefined => {
    if (headers === null || typeof headers !== "object") return undefined
    const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>
    if (typeof h.get === "function") return h.get(name)
    const v = h[name]
    return typeof v === "string" ? v : undefined
  }
  const ms = get("retry-after-ms")
  if (ms != null && ms !== "" && Number.isFinite(Number(ms))) return Math.max(0, Number(ms))
  const ra = get("retry-after")
  if (ra == null || ra === "") return undefined
  const secs = Number(ra)
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000)
  const at = Date.parse(ra)
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined
}

function kindOfStatus(status: number, message: string): ProviderErrorKind {
  if (status === 429) return "rate_limited"
  if (status === 529 || status === 503) return "overloaded"
  if (status === 408 || status === 504) return "timeout"
  if (status >= 500) return "server"
  if ((status === 400 || status === 413) && CONTEXT.test(message)) return "context"
  return "refused"
}

export function classifySdkError(provider: string, e: unknown): ProviderError {
  if (typeof e === "object" && e !== null && (e as { _tag?: string })._tag === "ProviderError") return e as ProviderError
  const err = e as { name?: string; status?: unknown; headers?: unknown; message?: string; error?: unknown }
  const message = String(err?.message ?? e)
  // The SDKs' error classes do not all set `name` (openai 6: an APIConnectionError is named
  // "Error"): the class's own name says what it is.
  const name = String(err?.name && err.name !== "Error" ? err.name : ((e as object)?.constructor?.name ?? ""))
  if (typeof err?.status === "number") {
    const status = err.status
    const detail = JSON.stringify(err.error ?? "").slice(0, 300)
    const kind = kindOfStatus(status, `${message} ${detail}`)
    return new ProviderError(kind, `${provider}: HTTP ${status}: ${message.slice(0, 300)}`, status, retryAfterMs(err.headers), { cause: e })
  }
  if (name.includes("Timeout") || /timed out/i.test(message)) return new ProviderError("timeout", `${provider}: no answer in time (${message.slice(0, 200)})`, undefined, undefined, { cause: e })
  if (name === "APIUserAbortError" || name === "AbortError") return new ProviderError("timeout", `${provider}: call aborted`, undefined, undefined, { cause: e })
  if (name.includes("Connection")) return new ProviderError("server", `${provider}: connection failed (${message.slice(0, 200)})`, undefined, undefined, { cause: e })
  // A body the SDK could not parse (SyntaxError) or a shape our normaliser refused.
  return new ProviderError("malformed", `${provider}: malformed answer (${message.slice(0, 200)})`, undefined, undefined, { cause: e })
}

/** Parses a tool call's argument text; text that is not JSON is kept as is, for the tool's validation to refuse. */
export function parseArguments(text: string): unknown {
  if (text.trim() === "") return {}
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export function malformed(provider: string, what: string): ProviderError {
  return new ProviderError("malformed", `${provider}: malformed answer: ${what}`)
}

/** Per-request SDK options: only what is set (the SDKs refuse a present but undefined timeout). */
export function reqOptions(o: { signal?: AbortSignal; timeoutMs?: number }): { signal?: AbortSignal; timeout?: number } {
  const r: { signal?: AbortSignal; timeout?: number } = {}
  if (o.signal) r.signal = o.signal
  if (o.timeoutMs !== undefined) r.timeout = Math.max(1, Math.round(o.timeoutMs))
  return r
}

/** Token counts from a provider's usage object, read by that provider's field names (0 when absent or not a number). */
export function tokenUsage(u: unknown, inputKey: string, outputKey: string): { inputTokens: number; outputTokens: number } {
  const x = (u ?? {}) as Record<string, unknown>
  return { inputTokens: Number(x[inputKey]) || 0, outputTokens: Number(x[outputKey]) || 0 }
}

/** A provider's stop reasons mapped to ANTS's `FinishReason`: a reader that answers "other" for any reason not in `table`. */
export function finishReasons(table: Readonly<Record<string, FinishReason>>): (reason: unknown) => FinishReason {
  const known = new Map(Object.entries(table))
  return (reason) => (typeof reason === "string" ? known.get(reason) : undefined) ?? "other"
}

type SdkCall = (model: string, req: ModelRequest, o: ProviderCallOptions) => Promise<ProviderAnswer>

/** A provider over an SDK: a streamed call when the caller wants deltas, else a plain one; whatever the SDK throws is classified. */
export function sdkProvider(name: string, kind: "openai" | "anthropic", plain: SdkCall, streamed: SdkCall): Provider {
  const classify = (e: unknown): never => {
    throw classifySdkError(name, e)
  }
  return {
    name,
    kind,
    offline: false,
    // the SDK call's own promise with a rejection handler: no async layer (and its hops) of its own per call
    call(model, req, o = {}) {
      return (o.onDelta ? streamed : plain)(model, req, o).catch(classify)
    },
  }
}
