/**
 * How often a busy worker asks its lanes: a lane found empty time after time (a priority nobody
 * submits at) is asked less and less often, while a task that arrives on it still runs before
 * the lower-priority tasks the worker holds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { TASKS_STREAM, taskConsumerName } from "../../subjects/tasks.ts"
import { consumerNextSubject } from "../../subjects/jetstream.ts"
import type { TaskEngine } from "../../runtime/tasks/engine.ts"
import { jetstreamManager } from "@nats-io/jetstream"
import { rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { capabilityFor, startTaskFixture, stopTaskFixture } from "./helpers.ts"

let server: NatsServer
let nc: NatsConnection
let engine: TaskEngine

beforeAll(async () => void ({ server, nc, engine } = await startTaskFixture()))
afterAll(async () => stopTaskFixture({ server, nc, engine }))

describe("task lanes", () => {
  it("task lanes - a busy worker asks a lane that stays empty less and less often, and a task arriving there still runs before the lower ones it holds", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const spy = await rawConnect(server.url)
    let asked = 0
    spy.subscribe(consumerNextSubject(TASKS_STREAM, taskConsumerName("default", cap, 9)), { callback: () => void asked++ })
    await spy.flush()
    const ran: number[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const worker = await engine.serveCapability(
      cap,
      async (p: { i: number }) => {
        ran.push(p.i)
        if (p.i < 2) await gate
      },
      { concurrency: 2 },
    )
    // two tasks hold both slots, with room to prefetch two more: the worker asks its lanes
    const ids = await Promise.all([0, 1].map(async (i) => (await engine.submit({ capability: cap, priority: 5, payload: { i } })).id))
    await waitUntil(() => ran.length === 2, { message: "both slots busy" })
    // 1.5 s busy: lane 9 (empty) was asked again every 50 ms before (about 30 times), now after
    // 25, 50, 100, then every 200 ms
    const before = asked
    await new Promise((r) => setTimeout(r, 1_500))
    await spy.flush()
    expect(asked - before, "asks of the empty lane in 1.5 s of busy").toBeLessThanOrEqual(12)
    // two low-priority tasks wait in the buffer; one on that lane, asked within 200 ms, runs first
    for (const i of [2, 3]) ids.push((await engine.submit({ capability: cap, priority: 1, payload: { i } })).id)
    ids.push((await engine.submit({ capability: cap, priority: 9, payload: { i: 4 } })).id)
    await new Promise((r) => setTimeout(r, 400))
    release()
    for (const id of ids) expect(await engine.waitForStatus(id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed" })
    expect(ran).toEqual([0, 1, 4, 2, 3])
    await worker.stop()
    await spy.close()
  })
  it("task lanes - a worker woken from idle does not ask the lanes its parked requests still wait on", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const spy = await rawConnect(server.url)
    const asks = { waiting: 0, now: 0 }
    spy.subscribe(consumerNextSubject(TASKS_STREAM, taskConsumerName("default", cap, 9)), {
      callback: (_e, m) => void ((m.json() as { no_wait?: boolean }).no_wait ? asks.now++ : asks.waiting++),
    })
    await spy.flush()
    const ran: number[] = []
    // parked requests last 30 s: none expires during the test
    const worker = await engine.serveCapability(cap, async (p: { i: number }) => void ran.push(p.i), { concurrency: 1, idlePollMs: 30_000 })
    // idle: a request parked on every lane, lane 9 among them
    await waitUntil(() => asks.waiting === 1, { message: "a request parked on lane 9" })
    const before = asks.now
    // three tasks, one after another, each handed to the parked request of lane 5 (the requests
    // parked on the other lanes are still waiting)
    for (const i of [0, 1, 2]) {
      const id = (await engine.submit({ capability: cap, priority: 5, payload: { i } })).id
      expect(await engine.waitForStatus(id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed" })
    }
    await spy.flush()
    expect(ran).toEqual([0, 1, 2])
    // each wake asked lane 9 at once before (three asks), though its request waited there
    expect(asks.now - before, "asks of lane 9 while a request of ours waited on it").toBe(0)
    await worker.stop()
    await spy.close()
  })
  it("task lanes - an idle worker keeps a request parked on every lane as its requests expire", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const jsm = await jetstreamManager(nc)
    const consumer = taskConsumerName("default", cap, 9)
    // parked requests expire every second, as the idle wait ends
    const worker = await engine.serveCapability(cap, async () => {}, { concurrency: 1, idlePollMs: 1_000 })
    const waiting = async () => (await jsm.consumers.info(TASKS_STREAM, consumer)).num_waiting
    await waitUntil(async () => (await waiting()) === 1, { message: "a request parked on lane 9" })
    // 4 s: four expiries. The idle wait used to end just before the server's expiry reached the
    // worker, which then found the lane still covered and waited another second with nothing
    // parked there (10 of these 40 readings were 0 in a run of the old code)
    const readings: number[] = []
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 100))
      readings.push(await waiting())
    }
    expect(readings.filter((n) => n === 0).length, `requests parked on lane 9, every 100 ms: ${readings.join(" ")}`).toBeLessThanOrEqual(3)
    await worker.stop()
  })
})
