import { afterAll, describe, expect, it } from "vitest"
import { HandlerTimeoutError, WorkerPool } from "../../runtime/cpu/worker-pool.ts"

const chaosModule = new URL("../../actors/examples/chaos.ts", import.meta.url).href
const self = { tenant: "t", type: "chaos-cpu", id: "a" }
const initial = { blobs: [], deep: null, merged: {} }

describe("worker pool", () => {
  const pool = new WorkerPool({ module: chaosModule, export: "chaosCpu", size: 2 })
  afterAll(() => pool.stop())

  it("worker pool - runs a handler loaded by module and export name, passing the state in and out", async () => {
    const r = await pool.run({ tag: "Grow", message: { bytes: 5 }, state: initial, self }, 30_000)
    expect(r.reply).toEqual({ stateBytes: 5 })
    expect(r.state).toEqual({ blobs: ["ggggg"], deep: null, merged: {} })
  })

  it("worker pool - a CPU-bound handler does not hold up the main thread", async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 10)
    const r = await pool.run({ tag: "Spin", message: { ms: 600 }, state: initial, self }, 30_000)
    clearInterval(timer)
    expect(r.reply).toEqual({ spunMs: 600 })
    // the main thread kept its timers running while the worker spun
    expect(ticks).toBeGreaterThan(5)
  })

  it("worker pool - a handler past its deadline is stopped: its worker is replaced and the pool goes on", async () => {
    const err = await pool.run({ tag: "Spin", message: { ms: 60_000 }, state: initial, self }, 300).catch((e) => e)
    expect(err).toBeInstanceOf(HandlerTimeoutError)
    expect((err as HandlerTimeoutError)._tag).toBe("HandlerTimeoutError")
    expect(pool.replaced).toBeGreaterThanOrEqual(1)
    const r = await pool.run({ tag: "Get", message: {}, state: initial, self }, 30_000)
    expect(r.reply).toEqual({ stateBytes: 0, blobs: 0 })
  })

  it("worker pool - a handler that throws rejects with its message", async () => {
    const err = await pool.run({ tag: "Nope", message: {}, state: initial, self }, 30_000).catch((e) => e)
    expect(String(err)).toMatch(/no handler for Nope/)
  })
})
