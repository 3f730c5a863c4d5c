/**
 * Schedules and business hours against a real nats-server, driven by a clock the test moves:
 * firings missed while no node ran follow the schedule's policy (run_once: one delivery on
 * recovery, the others recorded as caught up; skip: nothing delivered, each recorded as
 * skipped), a schedule's auto-sleep puts the actor to sleep long before its passivation time,
 * a business-hours window opening wakes the type's instances and closing lets them sleep, and
 * `ants schedules` lists each schedule with its next firing, policy, auto-sleep and last run.
 */
import { afterEach, describe, expect, it } from "vitest"
import { Kvm } from "@nats-io/kv"
import type { AgentOptions } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { SCHEDULE_BUCKET } from "../../subjects/kv.ts"
import { SCHEDULE_EVENTS } from "../../subjects/wake.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { watchLifecycleOf } from "../helpers/lifecycle-events.ts"
import { napper } from "./fixtures/napper-agent.ts"
import { schedulesCommand } from "../../runtime/cli/schedules-command.ts"

/** `ants schedules` run as the shell runs it, against the test's server. */
async function schedulesCli(...argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = []
  const code = await schedulesCommand(argv, { nc: nats.nc, json: false, out: (l) => void out.push(l), err: (l) => void out.push(l) })
  return { code, out: out.join("\n") }
}

const nats = natsPerFile()
const enc = new TextEncoder()
const dec = new TextDecoder()
const started: AntsNode[] = []

/** A clock the test moves by hand. */
function testClock(iso: string) {
  return {
    t: Date.parse(iso),
    now() {
      return this.t
    },
    set(at: string) {
      this.t = Date.parse(at)
    },
  }
}

async function start(options: AgentOptions, clock: { now(): number }, node: { passivateAfterMs?: number; idleAfterMs?: number } = {}): Promise<AntsNode> {
  const n = await startNode({ agents: [napper(options)], nats: nats.server.url, clock, logger: process.env.DBG ? (l, m) => console.log(l, m) : () => {}, models: false, memory: false, ...node })
  started.push(n)
  return n
}

async function get(id: string): Promise<{ n: number; ticks: number }> {
  const r = await nats.nc.request(`ants.default.agent.napper.${id}.Get`, enc.encode("{}"), { timeout: 10_000 })
  return JSON.parse(dec.decode(r.data)).value
}

/** What each claimed firing of a schedule became, by firing time. */
async function outcomes(schedule: string): Promise<Record<string, string>> {
  const kv = await new Kvm(nats.nc).open(SCHEDULE_BUCKET)
  const out: Record<string, string> = {}
  for await (const k of await kv.keys(`napper.${schedule}.*`)) {
    const e = await kv.get(k)
    if (e) out[new Date(Number(k.split(".")[2])).toISOString()] = JSON.parse(dec.decode(e.value)).outcome
  }
  return out
}

function scheduleEvents() {
  const events: Array<{ name: string; fireAt: string; outcome: string }> = []
  const sub = nats.nc.subscribe(SCHEDULE_EVENTS, { callback: (_e, m) => void events.push(JSON.parse(dec.decode(m.data))) })
  return { events, stop: () => sub.unsubscribe() }
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.drain()))
})

describe("schedules", () => {
  it("missed firings - run_once: after an outage of three days, one delivery on recovery; the three firings are recorded as caught up", async () => {
    const clock = testClock("2026-12-07T08:00:00Z")
    const daily = { schedules: [{ name: "daily", cron: "0 9 * * *", id: "s1", tag: "Tick", missed: "run_once" as const }] }
    let node = await start(daily, clock)
    clock.set("2026-12-07T09:00:00.500Z")
    await waitUntil(async () => (await get("s1")).ticks === 1, { timeoutMs: 20_000, message: "the 09:00 firing is delivered" })
    await node.drain()
    // three days without a node: the 8th, 9th and 10th at 09:00 fall while no node runs
    clock.set("2026-12-10T10:00:00Z")
    const ev = scheduleEvents()
    await nats.nc.flush()
    node = await start(daily, clock)
    await waitUntil(() => ev.events.length >= 3, { timeoutMs: 20_000, message: "three firings announced" })
    await waitUntil(async () => (await get("s1")).ticks >= 2, { timeoutMs: 20_000, message: "the catch-up delivery" })
    expect(ev.events.map((e) => [e.fireAt, e.outcome])).toEqual([
      ["2026-12-08T09:00:00.000Z", "caught_up"],
      ["2026-12-09T09:00:00.000Z", "caught_up"],
      ["2026-12-10T09:00:00.000Z", "caught_up"],
    ])
    expect(await outcomes("daily")).toEqual({
      "2026-12-07T09:00:00.000Z": "delivered",
      "2026-12-08T09:00:00.000Z": "caught_up",
      "2026-12-09T09:00:00.000Z": "caught_up",
      "2026-12-10T09:00:00.000Z": "caught_up",
    })
    expect((await get("s1")).ticks).toBe(2)
    // a second node starting now finds nothing left to catch up
    await start(daily, clock)
    expect((await get("s1")).ticks).toBe(2)
    expect(ev.events).toHaveLength(3)
    ev.stop()
  })

  it("missed firings - skip: nothing is delivered for the outage and each missed firing is recorded as skipped", async () => {
    const clock = testClock("2026-12-07T08:00:00Z")
    const weekly = { schedules: [{ name: "weekly", cron: "0 9 * * 1", id: "s2", tag: "Tick", missed: "skip" as const }] }
    let node = await start(weekly, clock)
    await node.drain()
    clock.set("2026-12-22T12:00:00Z")
    const ev = scheduleEvents()
    await nats.nc.flush()
    node = await start(weekly, clock)
    await waitUntil(() => ev.events.length >= 3, { timeoutMs: 20_000, message: "three skipped firings announced" })
    expect(ev.events.map((e) => [e.fireAt, e.outcome])).toEqual([
      ["2026-12-07T09:00:00.000Z", "skipped"],
      ["2026-12-14T09:00:00.000Z", "skipped"],
      ["2026-12-21T09:00:00.000Z", "skipped"],
    ])
    expect(Object.values(await outcomes("weekly"))).toEqual(["skipped", "skipped", "skipped"])
    expect((await get("s2")).ticks).toBe(0)
    // the schedule goes on as usual after the outage
    clock.set("2026-12-28T09:00:00.500Z")
    await waitUntil(async () => (await get("s2")).ticks === 1, { timeoutMs: 20_000, message: "the next firing is delivered" })
    ev.stop()
  })

  it("auto-sleep - a schedule's sleepAfterMinutes puts the actor it woke to sleep, well before the type's passivation time", async () => {
    const clock = testClock("2026-12-07T08:59:59Z")
    const log = await watchLifecycleOf(nats.nc, "default", "napper")
    await start({ schedules: [{ name: "nap", cron: "0 9 * * *", id: "s3", tag: "Tick", sleepAfterMinutes: 0.02 }] }, clock, { passivateAfterMs: 600_000, idleAfterMs: 50 })
    clock.set("2026-12-07T09:00:00.500Z")
    await waitUntil(() => log.states("s3").includes("active"), { timeoutMs: 20_000, message: "the firing wakes s3" })
    await waitUntil(() => log.last("s3") === "sleeping", { timeoutMs: 20_000, message: "s3 sleeps after 1.2 s, not 10 min" })
    expect((await get("s3")).ticks).toBe(1)
    log.stop()
  })

  it("business hours - with a test clock, the window opening wakes the instances and closing lets them sleep; the next opening wakes them again", async () => {
    const clock = testClock("2026-12-07T08:30:00Z") // a Monday
    const log = await watchLifecycleOf(nats.nc, "default", "napper")
    await start({ tier: "business_hours", businessHours: { open: "0 9 * * 1-5", close: "0 17 * * 1-5" }, instances: ["desk"] }, clock, { passivateAfterMs: 200, idleAfterMs: 50 })
    // before the window: not woken (a second of ticks)
    await new Promise((r) => setTimeout(r, 1000))
    expect(log.states("desk")).toEqual([])
    clock.set("2026-12-07T09:00:01Z")
    await waitUntil(() => log.last("desk") === "idle", { timeoutMs: 20_000, message: "the opening wakes desk" })
    // inside the window it stays awake well past its passivation time (200 ms)
    await new Promise((r) => setTimeout(r, 1000))
    expect(log.states("desk")).not.toContain("sleeping")
    clock.set("2026-12-07T17:00:01Z")
    await waitUntil(() => log.last("desk") === "sleeping", { timeoutMs: 20_000, message: "the closing lets desk sleep" })
    clock.set("2026-12-08T09:00:01Z")
    await waitUntil(() => log.states("desk").filter((s) => s === "warming").length === 2, { timeoutMs: 20_000, message: "the next opening wakes desk again" })
    log.stop()
  })

  it("ants schedules - lists every schedule with its next firing on the node's clock, missed-firing policy, auto-sleep and last run (never, delivered, skipped)", async () => {
    const clock = testClock("2026-12-07T08:00:00Z") // a Monday
    const declared = {
      schedules: [
        { name: "listed", cron: "0 9 * * *", id: "l1", tag: "Tick", missed: "run_once" as const, sleepAfterMinutes: 30 },
        { name: "listedweekly", cron: "0 9 * * 1", timezone: "Europe/Paris", id: "l2", tag: "Tick", tenant: "acme" },
      ],
    }
    let node = await start(declared, clock)
    const before = JSON.parse((await schedulesCli("--type", "napper", "--json")).out)
    expect(before.nodes).toBe(1)
    expect(before.schedules).toEqual([
      { type: "napper", name: "listed", cron: "0 9 * * *", timezone: "UTC", tenant: "default", id: "l1", tag: "Tick", missed: "run_once", sleepAfterMinutes: 30, next: "2026-12-07T09:00:00.000Z", nodes: [node.id] },
      // 09:00 in Paris is 08:00 UTC: the next Monday's, this one's has passed
      { type: "napper", name: "listedweekly", cron: "0 9 * * 1", timezone: "Europe/Paris", tenant: "acme", id: "l2", tag: "Tick", missed: "skip", next: "2026-12-14T08:00:00.000Z", nodes: [node.id] },
    ])
    clock.set("2026-12-07T09:00:00.500Z")
    await waitUntil(async () => (await get("l1")).ticks === 1, { timeoutMs: 20_000, message: "the 09:00 firing is delivered" })
    await waitUntil(async () => JSON.parse((await schedulesCli("--json")).out).schedules.find((x: { name: string }) => x.name === "listed")?.last !== undefined, { timeoutMs: 20_000, message: "the firing is listed as the last run" })
    const after = JSON.parse((await schedulesCli("--json")).out).schedules.find((x: { name: string }) => x.name === "listed")
    expect(after).toMatchObject({ next: "2026-12-08T09:00:00.000Z", last: { fireAt: "2026-12-07T09:00:00.000Z", outcome: "delivered", node: node.id } })
    // an outage over the next Monday: the weekly firing is skipped, and listed so
    await node.drain()
    clock.set("2026-12-15T12:00:00Z")
    node = await start(declared, clock)
    await waitUntil(async () => JSON.parse((await schedulesCli("--json")).out).schedules.find((x: { name: string }) => x.name === "listedweekly")?.last?.outcome === "skipped", { timeoutMs: 20_000, message: "the skipped weekly firing is listed" })
    const text = await schedulesCli("--type", "napper")
    expect(text.code).toBe(0)
    expect(text.out).toMatch(/^TYPE\s+NAME\s+CRON\s+ACTOR\s+NEXT\s+MISSED\s+AUTO-SLEEP\s+LAST RUN\s+NODES$/m)
    expect(text.out).toMatch(/napper\s+listed\s+0 9 \* \* \* \(UTC\)\s+l1 Tick\s+2026-12-16T09:00:00.000Z\s+run_once\s+30 min\s+2026-12-15T09:00:00.000Z caught_up/)
    expect(text.out).toMatch(/napper\s+listedweekly\s+0 9 \* \* 1 \(Europe\/Paris\)\s+acme\/l2 Tick\s+2026-12-21T08:00:00.000Z\s+skip\s+-\s+2026-12-14T08:00:00.000Z skipped on /)
    expect((await schedulesCli("--type", "nosuch")).out).toBe("no schedules of type nosuch on the 1 node(s) answering")
  })
})
