/**
 * The example task worker: capability `example.work`, payload `{ms, fail}`. It waits `ms`
 * milliseconds (default 0) and then throws when `fail` is true, otherwise returns
 * `{sleptMs}`. The README, the tests, the benchmark and the demo use it.
 *
 * It is a plain descriptor (capability + handler) served through the task engine:
 *
 *   const tasks = await startTaskEngine(nc)
 *   await tasks.serveCapability(exampleWork.capability, exampleWork.handle)
 *
 * (`defineAgent` has no `capabilities` option yet; when it does, this becomes an agent type
 * declaring `capabilities: [exampleWork]`.) Imports neither NATS nor Effect.
 */

export interface ExampleWorkPayload {
  /** How long to work, in ms (0..600000). Default 0. */
  readonly ms?: number
  /** Throw after waiting: a failing (or, always failing, poison) task. */
  readonly fail?: boolean
}

export interface ExampleWorkResult {
  readonly sleptMs: number
}

export const EXAMPLE_WORK_CAPABILITY = "example.work"

/** The handler: waits `ms`, throws when `fail`. */
export async function exampleWorkHandler(payload: unknown): Promise<ExampleWorkResult> {
  const p = (payload ?? {}) as ExampleWorkPayload
  if (typeof p !== "object" || Array.isArray(p)) throw new Error("example.work expects a payload object {ms?: number, fail?: boolean}")
  const ms = p.ms ?? 0
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0 || ms > 600_000) {
    throw new Error(`example.work: ms must be a number of milliseconds from 0 to 600000, got ${JSON.stringify(p.ms)}`)
  }
  if (ms > 0) await new Promise((r) => setTimeout(r, ms))
  if (p.fail === true) throw new Error("example.work failed on purpose (payload.fail is true)")
  return { sleptMs: ms }
}

/** Capability descriptor: what a runtime node serves. */
export const exampleWork = {
  capability: EXAMPLE_WORK_CAPABILITY,
  handle: exampleWorkHandler,
} as const
