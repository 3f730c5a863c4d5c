/**
 * `createSandbox`: runs untrusted ES modules in isolated-vm isolates, one tenant's code never in
 * another tenant's isolate.
 *
 * A run: its input is checked (tenant, level, limits, allow-list, arguments as JSON), an idle
 * warm isolate of the tenant holding the same module (same source, level and memory limit) is
 * taken, or a new one is made (at most `maxIsolatesPerTenant` per tenant and `maxIsolates` in
 * all; beyond, an idle isolate of the tenant, then the least recently used idle one anywhere, is
 * disposed to make room; when every isolate is busy the run waits in its tenant's queue). The
 * arguments go in as JSON text; the result comes back as JSON text, at most `resultBytes`, and is
 * parsed with the limits layer's safe parser (no prototype keys). Limits stop the code: a wall
 * timer and a CPU watchdog (the isolate's own CPU clock, read every `watchMs`) dispose the
 * isolate, and isolated-vm disposes one over its memory limit. A disposed isolate, and one that
 * still had host calls pending when its run ended, is discarded, never reused. The watchdog also
 * disposes an idle isolate that keeps using CPU after its run ended. Idle isolates are disposed
 * after `idleMs`.
 */
import { createHash } from "node:crypto"
import { JSON_LIMIT_DEFAULTS, parseJsonSafe } from "../limits/safe-json.ts"
import { isLimitError } from "../limits/limit-error.ts"
import { isSandboxLevel, resolveLimits, SANDBOX_LEVELS, type SandboxLevel, type SandboxLimits } from "./levels.ts"
import { allowedOrigins, type FetchScope } from "./host-fetch.ts"
import { isSandboxError, SandboxError, type SandboxErrorCode, type SandboxLog } from "./sandbox-error.ts"
import { breachText, loadIsolatedVm, WarmIsolate, type RunScope } from "./warm-isolate.ts"

export interface SandboxRun {
  readonly tenant: string
  readonly level: SandboxLevel
  /** ES module text; its default export (or `entry`) is an async function (args, { env }) => result, JSON in, JSON out. */
  readonly source: string
  /** JSON. */
  readonly args: unknown
  /** The export to call. Default `"default"`. */
  readonly entry?: string
  /** Origins (scheme://host[:port]) the code's fetch may reach; empty or absent: no fetch. */
  readonly fetchAllow?: ReadonlyArray<string>
  /** Read-only values the code sees as `env` (and as `ctx.env`, the call's second argument). */
  readonly env?: Readonly<Record<string, string>>
  readonly limits?: Partial<SandboxLimits>
}

export interface SandboxOptions {
  /** Warm isolates one tenant may hold. Default 4. */
  readonly maxIsolatesPerTenant?: number
  /** Warm isolates in all. Default 64. */
  readonly maxIsolates?: number
  /** Runs of one tenant waiting for an isolate; beyond, `unavailable`. Default 256. */
  readonly maxQueuedPerTenant?: number
  /** An idle isolate is disposed after this long. Default 60000 ms. */
  readonly idleMs?: number
  /** Period of the CPU watchdog. Default 20 ms. */
  readonly watchMs?: number
  /** Where the code's `console` and the sandbox's warnings go. Default: nowhere. */
  readonly log?: SandboxLog
}

export const SANDBOX_DEFAULTS = { maxIsolatesPerTenant: 4, maxIsolates: 64, maxQueuedPerTenant: 256, idleMs: 60_000, watchMs: 20 } as const

export interface SandboxStats {
  readonly isolates: number
  readonly busy: number
  readonly queued: number
  readonly tenants: number
  readonly created: number
  readonly disposed: number
  readonly runs: number
  readonly succeeded: number
  /** Failed runs by code. */
  readonly failures: Readonly<Partial<Record<SandboxErrorCode, number>>>
}

export interface Sandbox {
  /** Runs the code; resolves to its result (JSON), rejects with a `SandboxError` (check `.code`). */
  run(input: SandboxRun): Promise<unknown>
  stats(): SandboxStats
  /** Disposes every isolate; runs in flight and queued fail with `unavailable`. */
  close(): Promise<void>
}

interface Waiter {
  readonly key: string
  readonly resolve: (w: WarmIsolate | undefined) => void
  readonly reject: (e: Error) => void
}

/** CPU an idle isolate may use after its run has settled before it counts as code left running (an idle isolate computes nothing). */
const IDLE_CPU_NS = 200_000_000n

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const cfg = { ...SANDBOX_DEFAULTS, ...options }
  const log: SandboxLog = options.log ?? (() => {})
  const tenants = new Map<string, WarmIsolate[]>()
  const queues = new Map<string, Waiter[]>()
  const limitsOf = new WeakMap<WarmIsolate, SandboxLimits>()
  /** Isolates being made, per tenant (they count against the caps). */
  const making = new Map<string, number>()
  let total = 0
  let closed = false
  const counts = { created: 0, disposed: 0, runs: 0, succeeded: 0 }
  const failures: Partial<Record<SandboxErrorCode, number>> = {}
  let watchdog: ReturnType<typeof setInterval> | undefined

  const all = (): WarmIsolate[] => [...tenants.values()].flat()

  function remove(w: WarmIsolate, breach?: SandboxErrorCode, wakeQueue = true): void {
    w.dispose(breach)
    const list = tenants.get(w.tenant)
    const i = list ? list.indexOf(w) : -1
    if (i < 0) return
    list!.splice(i, 1)
    if (list!.length === 0) tenants.delete(w.tenant)
    total--
    counts.disposed++
    if (wakeQueue) wake(w.tenant)
    if (total === 0 && watchdog) {
      clearInterval(watchdog)
      watchdog = undefined
    }
  }

  function watch(): void {
    const now = Date.now()
    for (const w of all()) {
      if (w.isolate.isDisposed) {
        if (!w.busy) remove(w)
        continue
      }
      const cpu = w.isolate.cpuTime
      if (w.busy) {
        const limits = limitsOf.get(w)
        if (limits && cpu - w.cpuMark > BigInt(Math.round(limits.cpuMs * 1e6))) w.dispose("cpu_limit")
      } else if (!w.settled) {
        w.cpuMark = cpu
        w.settled = true
      } else if (cpu - w.cpuMark > IDLE_CPU_NS) {
        log("warn", `sandbox: an idle isolate of tenant ${w.tenant} kept computing after its run ended; disposed`)
        remove(w, "cpu_limit")
      } else if (now - w.lastUsed > cfg.idleMs) remove(w)
    }
  }

  function startWatchdog(): void {
    if (watchdog) return
    watchdog = setInterval(watch, cfg.watchMs)
    watchdog.unref()
  }

  /** Hands an idle isolate of the tenant to the first waiter that can use it (or room to make one). */
  function wake(tenant: string): void {
    const q = queues.get(tenant)
    if (!q || q.length === 0) return
    const head = q[0]
    const got = take(tenant, head.key)
    if (got === "wait") return
    q.shift()
    if (q.length === 0) queues.delete(tenant)
    head.resolve(got)
  }

  /** Reserves room for one isolate of the tenant (released by `made`). */
  function reserve(tenant: string): undefined {
    making.set(tenant, (making.get(tenant) ?? 0) + 1)
    total++
    return undefined
  }

  function made(tenant: string): void {
    const n = (making.get(tenant) ?? 1) - 1
    if (n > 0) making.set(tenant, n)
    else making.delete(tenant)
    total--
  }

  /** An idle matching isolate (marked busy), `undefined` when room was reserved to make one, or "wait". */
  function take(tenant: string, key: string): WarmIsolate | undefined | "wait" {
    const list = tenants.get(tenant) ?? []
    const idle = list.find((w) => !w.busy && w.key === key && w.reusable)
    if (idle) {
      idle.busy = true
      return idle
    }
    const held = list.length + (making.get(tenant) ?? 0)
    if (held < cfg.maxIsolatesPerTenant && total < cfg.maxIsolates) return reserve(tenant)
    // make room: an idle isolate of this tenant first, then the least recently used idle one anywhere
    const mine = list.filter((w) => !w.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0]
    if (mine) {
      remove(mine, undefined, false)
      return reserve(tenant)
    }
    if (held >= cfg.maxIsolatesPerTenant) return "wait"
    const lru = all()
      .filter((w) => !w.busy)
      .sort((a, b) => a.lastUsed - b.lastUsed)[0]
    if (lru) {
      remove(lru, undefined, false)
      return reserve(tenant)
    }
    return "wait"
  }

  async function acquire(tenant: string, key: string): Promise<WarmIsolate | undefined> {
    const got = take(tenant, key)
    if (got !== "wait") return got
    const q = queues.get(tenant) ?? []
    if (q.length >= cfg.maxQueuedPerTenant) throw new SandboxError("unavailable", `tenant ${tenant} already has ${q.length} runs waiting for an isolate; retry later`)
    queues.set(tenant, q)
    return new Promise<WarmIsolate | undefined>((resolve, reject) => q.push({ key, resolve, reject }))
  }

  function count(code: SandboxErrorCode): void {
    failures[code] = (failures[code] ?? 0) + 1
  }

  async function execute(input: SandboxRun): Promise<unknown> {
    if (closed) throw new SandboxError("unavailable", "the sandbox is closed")
    if (typeof input.tenant !== "string" || !/^[A-Za-z0-9_-]+$/.test(input.tenant)) throw new RangeError(`tenant must be a token ([A-Za-z0-9_-]+), got ${JSON.stringify(input.tenant)}`)
    if (!isSandboxLevel(input.level)) throw new RangeError(`level must be one of ${Object.keys(SANDBOX_LEVELS).join(", ")}, got ${JSON.stringify(input.level)}`)
    if (typeof input.source !== "string") throw new RangeError("source must be the text of an ES module")
    const level = SANDBOX_LEVELS[input.level]
    const limits = resolveLimits(input.level, input.limits)
    const allow = allowedOrigins(input.fetchAllow)
    const entry = input.entry ?? "default"
    let argsJson: string
    try {
      argsJson = JSON.stringify(input.args === undefined ? null : input.args)
    } catch (e) {
      throw new SandboxError("not_json", `the arguments are not JSON: ${(e as Error).message}`)
    }
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(input.env ?? {})) {
      if (typeof v !== "string") throw new RangeError(`env.${k} must be a string`)
      env[k] = v
    }
    const ivm = loadIsolatedVm()
    const key = `${input.level}|${limits.memoryMb}|${createHash("sha256").update(input.source).digest("hex")}`
    let w = await acquire(input.tenant, key)
    if (closed) {
      if (w) remove(w)
      else made(input.tenant)
      throw new SandboxError("unavailable", "the sandbox is closed")
    }
    const ended = new AbortController()
    const fetchScope: FetchScope = { allow, limits: level.fetch, signal: ended.signal, requests: 0, denied: undefined }
    const run: RunScope = { fetch: fetchScope, wallDeadline: Date.now() + limits.wallMs, pending: 0 }
    let wallTimer: ReturnType<typeof setTimeout> | undefined
    let fresh: WarmIsolate | undefined
    try {
      if (!w) {
        // room was reserved by take(); the isolate takes its place once made
        try {
          w = fresh = await WarmIsolate.create(ivm, input.tenant, key, level, limits.memoryMb, log)
        } finally {
          made(input.tenant)
        }
        w.busy = true
        const list = tenants.get(input.tenant) ?? []
        list.push(w)
        tenants.set(input.tenant, list)
        total++
        counts.created++
      }
      const isolate = w
      limitsOf.set(isolate, limits)
      isolate.current = run
      isolate.cpuMark = isolate.isolate.cpuTime
      isolate.settled = true
      startWatchdog()
      wallTimer = setTimeout(() => isolate.dispose("wall_limit"), limits.wallMs)
      if (closed) throw new SandboxError("unavailable", "the sandbox is closed")
      if (fresh) await fresh.load(input.source, limits.wallMs)
      const out = await isolate.call(entry, argsJson, JSON.stringify(env), limits)
      if (fetchScope.denied) throw fetchScope.denied
      if (Buffer.byteLength(out) > limits.resultBytes) throw new SandboxError("result_too_large", `the result's JSON is ${Buffer.byteLength(out)} bytes, over the limit of ${limits.resultBytes}`)
      try {
        return parseJsonSafe(out, { maxDepth: JSON_LIMIT_DEFAULTS.maxDepth, maxKeys: JSON_LIMIT_DEFAULTS.maxKeys })
      } catch (e) {
        throw new SandboxError("not_json", `the result is refused: ${isLimitError(e) ? e.message : String(e)}`)
      }
    } catch (e) {
      if (fetchScope.denied) throw fetchScope.denied
      if (isSandboxError(e) && (e.code === "cpu_limit" || e.code === "wall_limit" || e.code === "memory_limit")) throw new SandboxError(e.code, breachText(e.code, limits))
      if (w?.breach) throw new SandboxError(w.breach, breachText(w.breach, limits))
      throw e
    } finally {
      clearTimeout(wallTimer)
      ended.abort()
      if (w) {
        w.lastUsed = Date.now()
        w.runs++
        const keep = w.reusable && !closed
        w.current = undefined
        w.settled = false
        w.busy = false
        if (w.breach) log("warn", `sandbox: a run of tenant ${input.tenant} hit its ${w.breach.replace("_", " ")}; its isolate was disposed`)
        if (keep) wake(input.tenant)
        else remove(w, w.breach)
      } else wake(input.tenant)
    }
  }

  return {
    async run(input) {
      counts.runs++
      try {
        const value = await execute(input)
        counts.succeeded++
        return value
      } catch (e) {
        count(isSandboxError(e) ? e.code : "thrown")
        throw e
      }
    },
    stats() {
      const ws = all()
      let queued = 0
      for (const q of queues.values()) queued += q.length
      return { isolates: ws.length, busy: ws.filter((w) => w.busy).length, queued, tenants: tenants.size, ...counts, failures: { ...failures } }
    },
    async close() {
      closed = true
      if (watchdog) clearInterval(watchdog)
      watchdog = undefined
      for (const [, q] of queues) for (const waiter of q.splice(0)) waiter.reject(new SandboxError("unavailable", "the sandbox is closed"))
      queues.clear()
      for (const w of all()) remove(w)
    },
  }
}
