/**
 * The sandbox's levels as data (the seed's three: restricted is JSON and HTTP only for 30 s;
 * moderate gives more to work with for 60 s; permissive is wider and longer). A level fixes the
 * default limits, which globals the code sees beyond the ECMAScript built-ins, which built-ins
 * are taken away, and what its `fetch` may read. A run may lower or raise the limits
 * (`SandboxRun.limits`); the level's APIs are fixed.
 */
export type SandboxLevel = "restricted" | "moderate" | "permissive"

export interface SandboxLimits {
  /** CPU time the code may use in one run (the isolate's own CPU clock). */
  readonly cpuMs: number
  /** Time one run may last, awaiting (fetch, timers) included. */
  readonly wallMs: number
  /** Heap of the isolate (isolated-vm's `memoryLimit`, at least 8). */
  readonly memoryMb: number
  /** Bytes of the result's JSON. */
  readonly resultBytes: number
}

/** Globals a level may add (implemented by the sandbox's prelude, all inside the isolate but `fetch`, timers, `console` and random bytes, which call the host). */
export type SandboxGlobal =
  | "fetch"
  | "env"
  | "console"
  | "setTimeout"
  | "clearTimeout"
  | "TextEncoder"
  | "TextDecoder"
  | "atob"
  | "btoa"
  | "crypto"

export interface FetchLimits {
  /** Bytes of one response body; a longer body fails the fetch. */
  readonly maxResponseBytes: number
  /** Requests one run may make (each redirect hop counts). */
  readonly maxRequests: number
  /** Redirects followed per request, each checked against the allow-list. */
  readonly maxRedirects: number
}

export interface LevelSpec {
  readonly level: SandboxLevel
  readonly limits: SandboxLimits
  readonly globals: ReadonlyArray<SandboxGlobal>
  /** ECMAScript built-ins deleted from the global object before the code runs. */
  readonly removed: ReadonlyArray<string>
  readonly fetch: FetchLimits
}

const MiB = 1024 * 1024

export const SANDBOX_LEVELS: Readonly<Record<SandboxLevel, LevelSpec>> = {
  restricted: {
    level: "restricted",
    limits: { cpuMs: 5_000, wallMs: 30_000, memoryMb: 32, resultBytes: 1 * MiB },
    globals: ["fetch", "env"],
    // V8 ships a `console` that writes to the inspector only: gone, like the rest
    removed: ["WebAssembly", "SharedArrayBuffer", "Atomics", "console"],
    fetch: { maxResponseBytes: 1 * MiB, maxRequests: 20, maxRedirects: 5 },
  },
  moderate: {
    level: "moderate",
    limits: { cpuMs: 15_000, wallMs: 60_000, memoryMb: 64, resultBytes: 4 * MiB },
    globals: ["fetch", "env", "console", "setTimeout", "clearTimeout", "TextEncoder", "TextDecoder", "atob", "btoa", "crypto"],
    removed: ["WebAssembly", "SharedArrayBuffer", "Atomics"],
    fetch: { maxResponseBytes: 4 * MiB, maxRequests: 100, maxRedirects: 5 },
  },
  permissive: {
    level: "permissive",
    limits: { cpuMs: 60_000, wallMs: 300_000, memoryMb: 128, resultBytes: 16 * MiB },
    globals: ["fetch", "env", "console", "setTimeout", "clearTimeout", "TextEncoder", "TextDecoder", "atob", "btoa", "crypto"],
    removed: [],
    fetch: { maxResponseBytes: 16 * MiB, maxRequests: 1_000, maxRedirects: 10 },
  },
}

/** Ceilings no run may raise its limits past, whatever it asks. */
export const SANDBOX_LIMIT_CEILINGS: SandboxLimits = { cpuMs: 300_000, wallMs: 900_000, memoryMb: 512, resultBytes: 64 * MiB }

export function isSandboxLevel(x: unknown): x is SandboxLevel {
  return typeof x === "string" && Object.hasOwn(SANDBOX_LEVELS, x)
}

/**
 * The limits of one run: the level's, overridden by the run's, each a positive finite number no
 * higher than its ceiling (memory at least isolated-vm's minimum of 8 MB). Throws a RangeError
 * naming the bad field.
 */
export function resolveLimits(level: SandboxLevel, overrides: Partial<SandboxLimits> | undefined): SandboxLimits {
  const base = SANDBOX_LEVELS[level].limits
  if (overrides === undefined) return base
  const out: Record<keyof SandboxLimits, number> = { ...base }
  for (const key of Object.keys(base) as Array<keyof SandboxLimits>) {
    const v = overrides[key]
    if (v === undefined) continue
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new RangeError(`limits.${key} must be a positive number (got ${String(v)})`)
    if (v > SANDBOX_LIMIT_CEILINGS[key]) throw new RangeError(`limits.${key} may be at most ${SANDBOX_LIMIT_CEILINGS[key]} (got ${v})`)
    out[key] = key === "memoryMb" ? Math.max(8, Math.ceil(v)) : v
  }
  return out
}
