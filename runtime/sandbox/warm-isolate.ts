/**
 * One isolate of one tenant, holding one module (a source at a level and memory limit), kept
 * warm between runs. It runs one call at a time. The isolate's prelude (prelude.ts) is given
 * host callbacks that see only the run in progress (`current`): its fetch scope, its timers.
 * Anything that breaches a limit disposes the isolate (`dispose(code)`), which ends the call in
 * flight and makes the isolate unusable: the pool (sandbox.ts) never hands it out again.
 */
import { randomBytes } from "node:crypto"
import type { Isolate, Context, Reference } from "isolated-vm"
import { requirePeer } from "./load-isolated-vm.ts"
import { PRELUDE } from "./prelude.ts"
import type { LevelSpec, SandboxLimits } from "./levels.ts"
import { hostFetch, type FetchScope } from "./host-fetch.ts"
import { SandboxError, type SandboxErrorCode, type SandboxLog } from "./sandbox-error.ts"

type IsolatedVm = typeof import("isolated-vm")
let loaded: IsolatedVm | undefined

/** isolated-vm, or a SandboxError `unavailable` saying how to install it. */
export function loadIsolatedVm(): IsolatedVm {
  return (loaded ??= requirePeer<IsolatedVm>("isolated-vm"))
}

/** The run in progress on an isolate, as its host callbacks see it. */
export interface RunScope {
  readonly fetch: FetchScope
  readonly wallDeadline: number
  /** Host calls (fetch, timers) not settled yet: an isolate with some at the end of its run is not reused. */
  pending: number
}

const SENTINEL = "\u0000"

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

export class WarmIsolate {
  readonly createdAt = Date.now()
  lastUsed = Date.now()
  runs = 0
  busy = false
  /** Why the isolate was disposed (a breach), if it was. */
  breach: SandboxErrorCode | undefined
  current: RunScope | undefined
  /** CPU time (ns) when the current run started, or (once `settled`) after the last one ended. */
  cpuMark = 0n
  /** False until the watchdog has marked the CPU time after the last run's tail (its copy-out, its promise jobs). */
  settled = false
  readonly #runners = new Map<string, Reference<(a: string, e: string, m: number) => Promise<string>>>()
  #bind: Reference<(ns: unknown, entry: string) => unknown> | undefined
  #module: { namespace: Reference<Record<string, unknown>> } | undefined

  private constructor(
    readonly ivm: IsolatedVm,
    readonly tenant: string,
    readonly key: string,
    readonly isolate: Isolate,
    readonly context: Context,
    private readonly log: SandboxLog,
  ) {}

  /** A fresh isolate with the level's prelude; the module is loaded by `load`. */
  static async create(ivm: IsolatedVm, tenant: string, key: string, level: LevelSpec, memoryMb: number, log: SandboxLog): Promise<WarmIsolate> {
    const isolate = new ivm.Isolate({
      memoryLimit: memoryMb,
      onCatastrophicError: (message: string) => log("error", `sandbox: isolated-vm reported a catastrophic error (${message}); the process should be restarted`),
    })
    let context: Context
    try {
      context = await isolate.createContext()
    } catch (e) {
      if (!isolate.isDisposed) isolate.dispose()
      throw e
    }
    const w = new WarmIsolate(ivm, tenant, key, isolate, context, log)
    await w.prepare(level)
    return w
  }

  private async prepare(level: LevelSpec): Promise<void> {
    const ivm = this.ivm
    // asynchronous host functions are References the prelude applies with `result.promise`
    // (isolated-vm's async Callback does not wait for a host promise)
    const fetchCb = new ivm.Reference((url: unknown, init: unknown) => this.hostCall((run) => hostFetch(run.fetch, url, init)))
    const sleepCb = new ivm.Reference((ms: unknown) => this.hostCall((run) => sleep(run, Number(ms))))
    const logCb = new ivm.Callback(
      (lvl: unknown, text: unknown) => {
        if (this.current) this.log(lvl === "warn" || lvl === "error" || lvl === "debug" ? lvl : "info", `[sandbox ${this.tenant}] ${String(text).slice(0, 4096)}`)
      },
      { ignored: true },
    )
    const randomCb = new ivm.Callback((n: unknown) => randomBytes(Math.min(65_536, Math.max(0, Math.floor(Number(n)) || 0))).toString("hex"), { sync: true })
    const spec = JSON.stringify({ globals: level.globals, removed: level.removed })
    this.#bind = await this.context.evalClosure(PRELUDE, [fetchCb, sleepCb, logCb, randomCb, spec], { result: { reference: true }, timeout: 5_000 })
  }

  /**
   * A host call from the code: refused outside a run (code left running after its run ended
   * must not act), counted while pending. It always resolves, to `"1"` + the value or `"0"` +
   * the error's message, which the prelude turns back into a value or a thrown Error: a promise
   * handed to isolated-vm that rejects is reported by Node as an unhandled rejection.
   */
  private hostCall(f: (run: RunScope) => Promise<string | void>): Promise<string> {
    const run = this.current
    if (!run) return Promise.resolve("0no run in progress")
    run.pending++
    return f(run).then(
      (v) => {
        run.pending--
        return "1" + (v ?? "")
      },
      (e: unknown) => {
        run.pending--
        return "0" + (e instanceof Error ? e.message : String(e))
      },
    )
  }

  /** Compiles, links (no imports) and evaluates the module; a failure is `invalid_module` (or the limit it hit). */
  async load(source: string, timeoutMs: number): Promise<void> {
    let mod
    try {
      mod = await this.isolate.compileModule(source, { filename: "file:///sandbox/module.js" })
    } catch (e) {
      throw this.failure(e, "invalid_module", "the source does not compile")
    }
    try {
      await mod.instantiate(this.context, (specifier: string) => {
        throw new Error(`imports are not available in the sandbox (it imports "${specifier}")`)
      })
    } catch (e) {
      throw this.failure(e, "invalid_module", "the module cannot be linked")
    }
    try {
      await mod.evaluate({ timeout: Math.max(1, timeoutMs) })
    } catch (e) {
      throw this.failure(e, "invalid_module", "the module threw while loading")
    }
    this.#module = mod
  }

  /** The runner of one export (bound once per export). */
  private async runner(entry: string): Promise<Reference<(a: string, e: string, m: number) => Promise<string>>> {
    const known = this.#runners.get(entry)
    if (known) return known
    const ns = this.#module!.namespace
    const r = (await this.#bind!.apply(undefined, [ns.derefInto(), entry], { result: { reference: true }, timeout: 1_000 })) as Reference<any>
    if (r.typeof !== "function") {
      const text = (await r.copy()) as string
      throw new SandboxError("invalid_module", String(text).slice(`${SENTINEL}invalid_module:`.length))
    }
    this.#runners.set(entry, r)
    return r
  }

  /** Calls `entry` with the JSON arguments; resolves to the result's JSON text. */
  async call(entry: string, argsJson: string, envJson: string, limits: SandboxLimits): Promise<string> {
    let out: unknown
    try {
      const run = await this.runner(entry)
      const remaining = Math.max(1, (this.current?.wallDeadline ?? Date.now() + limits.wallMs) - Date.now())
      out = await run.apply(undefined, [argsJson, envJson, limits.resultBytes], { result: { promise: true, copy: true }, timeout: remaining })
    } catch (e) {
      throw this.failure(e, "thrown", "the call failed")
    }
    if (typeof out !== "string") throw new SandboxError("not_json", "the result did not come back as JSON text")
    if (out.startsWith(SENTINEL)) {
      const colon = out.indexOf(":")
      const code = out.slice(1, colon) as SandboxErrorCode
      const text = out.slice(colon + 1)
      // the allocator refused an ArrayBuffer: the code reached its memory limit
      if (code === "thrown" && /^Array buffer allocation failed/.test(text)) {
        this.dispose("memory_limit")
        throw new SandboxError("memory_limit", breachText("memory_limit", limits))
      }
      if (code === "result_too_large") throw new SandboxError(code, `the result's JSON has ${text} characters, over the limit of ${limits.resultBytes} bytes`)
      throw new SandboxError(code, text)
    }
    return out
  }

  /** Maps an error out of isolated-vm to the code that explains it. */
  private failure(e: unknown, fallback: SandboxErrorCode, what: string): SandboxError {
    if ((e as { _tag?: string })?._tag === "SandboxError") return e as SandboxError
    const text = errorText(e)
    if (this.breach) return new SandboxError(this.breach, breachText(this.breach))
    if (/memory limit/i.test(text)) {
      this.dispose("memory_limit")
      return new SandboxError("memory_limit", breachText("memory_limit"))
    }
    if (/Script execution timed out/i.test(text)) {
      this.dispose("wall_limit")
      return new SandboxError("wall_limit", breachText("wall_limit"))
    }
    if (this.isolate.isDisposed) return new SandboxError("unavailable", "the isolate was disposed (the sandbox is closing)")
    return new SandboxError(fallback, `${what}: ${text.slice(0, 2000)}`)
  }

  /** True when the isolate may serve another run: alive, and nothing of the last run still pending. */
  get reusable(): boolean {
    return !this.isolate.isDisposed && this.breach === undefined && (this.current === undefined || this.current.pending === 0)
  }

  dispose(breach?: SandboxErrorCode): void {
    if (breach && !this.breach) this.breach = breach
    if (!this.isolate.isDisposed) {
      try {
        this.isolate.dispose()
      } catch {
        // already disposed by isolated-vm itself (memory limit)
      }
    }
  }
}

export function breachText(code: SandboxErrorCode, limits?: SandboxLimits): string {
  switch (code) {
    case "cpu_limit":
      return `the code used more CPU time than its limit${limits ? ` of ${limits.cpuMs} ms` : ""}; its isolate was disposed`
    case "wall_limit":
      return `the run lasted longer than its limit${limits ? ` of ${limits.wallMs} ms` : ""}; its isolate was disposed`
    case "memory_limit":
      return `the code used more memory than its limit${limits ? ` of ${limits.memoryMb} MB` : ""}; its isolate was disposed`
    default:
      return code
  }
}

/** A timer of the code: bounded by the run's deadline, rejected when the run ends. */
function sleep(run: RunScope, ms: number): Promise<void> {
  const wait = Math.min(Number.isFinite(ms) && ms > 0 ? ms : 0, Math.max(0, run.wallDeadline - Date.now()))
  return new Promise((resolve, reject) => {
    const signal = run.fetch.signal
    if (signal.aborted) return reject(new Error("the run ended"))
    const onAbort = () => {
      clearTimeout(t)
      reject(new Error("the run ended"))
    }
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort)
      resolve()
    }, wait)
    signal.addEventListener("abort", onAbort, { once: true })
  })
}
