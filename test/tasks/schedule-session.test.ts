import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { jetstream } from "@nats-io/jetstream"
import { rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { taskLaneSubject } from "../../subjects/tasks.ts"
import { startTaskEngine, type TaskEngine } from "../../runtime/tasks/engine.ts"
import { FAST, capabilityFor, startTaskFixture, stopTaskFixture } from "./helpers.ts"

let server: NatsServer
let nc: NatsConnection
let engine: TaskEngine

beforeAll(async () => void ({ server, nc, engine } = await startTaskFixture()))
afterAll(() => stopTaskFixture({ server, nc, engine }))

describe("scheduled tasks", () => {
  it("scheduled tasks - a task with notBefore is not delivered before its time", async ({ task }) => {
    const cap = capabilityFor(task.name)
    let startedAt = 0
    const w = await engine.serveCapability(cap, async () => {
      startedAt = Date.now()
      return "late enough"
    })
    const notBefore = Date.now() + 1_200
    const r = await engine.submit({ capability: cap, payload: {}, notBefore: new Date(notBefore) })
    expect(r.state).toBe("scheduled")
    await waitUntil(async () => (await engine.getStatus(r.id))?.state === "scheduled")
    const rec = await engine.waitForStatus(r.id, { timeoutMs: 15_000 })
    expect(rec.state).toBe("completed")
    expect(startedAt).toBeGreaterThanOrEqual(notBefore)
    await w.stop()
  })

  it("scheduled tasks - a plain publish with a future notBefore waits in the schedule too", async ({ task }) => {
    const cap = capabilityFor(task.name)
    let startedAt = 0
    const w = await engine.serveCapability(cap, async () => {
      startedAt = Date.now()
    })
    const notBefore = Date.now() + 1_000
    const client = await rawConnect(server.url)
    await jetstream(client).publish(taskLaneSubject("default", cap, 5), JSON.stringify({ payload: {}, notBefore: new Date(notBefore).toISOString() }), {
      msgID: "plain-scheduled",
    })
    await waitUntil(async () => (await engine.getStatus("plain-scheduled"))?.state === "scheduled")
    expect((await engine.waitForStatus("plain-scheduled", { timeoutMs: 15_000 })).state).toBe("completed")
    expect(startedAt).toBeGreaterThanOrEqual(notBefore)
    await client.close()
    await w.stop()
  })

  it("scheduled tasks - survive every engine and the server restarting: delivered once, not early", async ({ task }) => {
    const cap = capabilityFor(task.name)
    // Engine A takes the submission, then everything goes away before the task is due.
    const ncA = await rawConnect(server.url)
    const a = await startTaskEngine(ncA, { workerDefaults: FAST })
    let runsA = 0
    await a.serveCapability(cap, async () => {
      runsA++
    })
    const notBefore = Date.now() + 2_500
    const r = await a.submit({ capability: cap, payload: { n: 1 }, notBefore })
    await a.stop()
    await ncA.close()
    await engine.stop()
    server = await server.restart()
    // A new engine on a new connection picks it up.
    const ncB = await rawConnect(server.url)
    const b = await startTaskEngine(ncB, { workerDefaults: FAST })
    try {
      const starts: number[] = []
      await b.serveCapability(cap, async () => {
        starts.push(Date.now())
        return "after restart"
      })
      // a restarted server recovers its streams first: on a loaded runner that alone takes seconds
      const rec = await b.waitForStatus(r.id, { timeoutMs: 45_000 })
      expect(rec).toMatchObject({ state: "completed", result: "after restart" })
      expect(runsA).toBe(0)
      expect(starts.length).toBe(1)
      expect(starts[0]).toBeGreaterThanOrEqual(notBefore)
    } finally {
      await b.stop()
      await ncB.close()
      // the file's engine again, whatever happened above (the next tests use it)
      engine = await startTaskEngine(nc, { workerDefaults: FAST })
    }
  }, 90_000)
})

describe("server restart", () => {
  it("server restart - idle workers and the engine carry on after the server restarts", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const w = await engine.serveCapability(cap, async () => "still here")
    const before = await engine.submit({ capability: cap, payload: {} })
    expect((await engine.waitForStatus(before.id)).state).toBe("completed")
    server = await server.restart()
    await waitUntil(async () => {
      try {
        await nc.flush()
        return true
      } catch {
        return false
      }
    })
    const after = await waitUntil(async () => await engine.submit({ capability: cap, payload: {} }).catch(() => undefined), { timeoutMs: 20_000 })
    expect(await engine.waitForStatus(after.id)).toMatchObject({ state: "completed", result: "still here" })
    await w.stop()
  })
})

describe("sessions", () => {
  it("sessions - one session runs one task at a time in submission order, sessions run concurrently", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const sessions = ["s1", "s2", "s3", "s4"]
    const perSession = 12
    const running = new Map<string, number>()
    const seen = new Map<string, number[]>()
    let concurrent = 0
    let maxConcurrent = 0
    let maxPerSession = 0
    let failedOnce = false
    const handler = async (p: { s: string; i: number }, ctx: { attempt: number }) => {
      const r = (running.get(p.s) ?? 0) + 1
      running.set(p.s, r)
      maxPerSession = Math.max(maxPerSession, r)
      concurrent++
      maxConcurrent = Math.max(maxConcurrent, concurrent)
      try {
        await new Promise((res) => setTimeout(res, 5 + Math.random() * 25))
        if (p.s === "s1" && p.i === 1 && !failedOnce && ctx.attempt === 1) {
          failedOnce = true
          throw new Error("transient")
        }
        seen.set(p.s, [...(seen.get(p.s) ?? []), p.i])
      } finally {
        running.set(p.s, running.get(p.s)! - 1)
        concurrent--
      }
    }
    // Two workers on two connections compete for the same session lane.
    const nc2 = await rawConnect(server.url)
    const e2 = await startTaskEngine(nc2, { scheduler: false, statusResponder: false })
    const opts = { ...FAST, concurrency: 8, sessionRetryMs: 30 }
    const w1 = await engine.serveCapability(cap, handler, opts)
    const w2 = await e2.serveCapability(cap, handler, opts)
    const ids: string[] = []
    for (let i = 0; i < perSession; i++) {
      for (const s of sessions) {
        ids.push((await engine.submit({ capability: cap, sessionId: s, payload: { s, i }, priority: i % 2 ? "high" : "low" })).id)
      }
    }
    for (const id of ids) expect((await engine.waitForStatus(id, { timeoutMs: 30_000 })).state).toBe("completed")
    for (const s of sessions) expect(seen.get(s)).toEqual(Array.from({ length: perSession }, (_, i) => i))
    expect(failedOnce).toBe(true)
    expect(maxPerSession).toBe(1)
    expect(maxConcurrent).toBeGreaterThan(1)
    await w1.stop()
    await w2.stop()
    await e2.stop()
    await nc2.close()
  })
})
