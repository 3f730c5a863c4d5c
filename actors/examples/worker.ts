/**
 * The example task worker: capability `example.work`, payload `{ms, fail}`. It waits `ms`
 * milliseconds (default 0) and then throws when `fail` is true, otherwise returns
 * `{sleptMs}`. The README, the tests, the benchmark and the demo use it.
 *
 * `worker` is the agent type declaring the capability: a node hosting it
 * (`npx ants node --agents ./actors/examples/index.ts`) serves `example.work` tasks. The
 * handler is also exported on its own, for a script's task engine:
 *
 *   const tasks = await startTaskEngine(nc)
 *   await tasks.serveCapability(exampleWork.capability, exampleWork.handle)
 *
 * Imports neither NATS nor Effect.
 */
import { defineAgent } from "../../runtime/agent/define-agent.ts"

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

/**
 * The agent type serving `example.work` (plain queue delivery, default retries: 3 attempts,
 * backoff from 1 s). It has no messages of its own: its work arrives as durable tasks.
 */
export const worker = defineAgent({
  type: "worker",
  protocol: {},
  handlers: {},
  checkpoint: "never",
  capabilities: { [EXAMPLE_WORK_CAPABILITY]: exampleWorkHandler },
})
