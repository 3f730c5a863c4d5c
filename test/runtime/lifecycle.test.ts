import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { counter } from "../../actors/examples/index.ts"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { idsToKeepAwake, insideWindow, warmPoolIds } from "../../runtime/actor/lifecycle-policy.ts"
import { nextFiring } from "../../runtime/actor/schedules.ts"
import { natsPerFile, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let nc: NatsConnection
const dec = new TextDecoder()
const quiet = () => {}

/** Collects lifecycle events `{from,to,node}` of one actor. */
function watchLifecycle(tenant: string, type: string, id: string) {
  const events: Array<{ from: string; to: string; node: string }> = []
  const sub = nc.subscribe(`ants._sys.lifecycle.${tenant}.${type}.${id}`, { callback: (_e, m) => void events.push(JSON.parse(dec.decode(m.data))) })
  return { events, stop: () => sub.unsubscribe() }
}

natsPerFile({}, (s, c) => ([server, nc] = [s, c]))

describe("lifecycle", () => {
  it("lifecycle - an idle actor passivates with its state and wakes on the next message", async () => {
    const node = await startNode({ agents: [counter], nats: server.url, passivateAfterMs: 150, idleAfterMs: 50, logger: quiet })
    try {
      const w = watchLifecycle("default", "counter", "sleepy")
      await nc.flush()
      const ref = node.client.ref(counter, "sleepy")
      await ref.ask("Add", { n: 5 })
      await waitUntil(() => w.events.some((e) => e.to === "sleeping"), { message: "actor passivated" })
      expect(w.events.map((e) => `${e.from}>${e.to}`)).toEqual(["cold>warming", "warming>active", "active>idle", "idle>sleeping"])
      expect(node.stats().types.counter.sleeping).toBe(1)
      expect(node.stats().types.counter.active + node.stats().types.counter.idle).toBe(0)
      expect(await ref.ask("Get", {})).toEqual({ total: 5 })
      await waitUntil(() => w.events.length >= 6)
      expect(w.events.slice(4, 6).map((e) => `${e.from}>${e.to}`)).toEqual(["sleeping>warming", "warming>active"])
      // cost accounting survives sleep: a second activation, some sleeping time
      const inspect = JSON.parse(dec.decode((await nc.request("ants.default.agent.counter.sleepy._Inspect", new Uint8Array(), { timeout: 5000 })).data))
      expect(inspect.value.acct.activations).toBe(2)
      expect(inspect.value.acct.sleepingMs).toBeGreaterThan(0)
      expect(node.stats().types.counter.passivations).toBe(1)
      w.stop()
    } finally {
      await node.drain()
    }
  })

  it("lifecycle - state survives kill -9 of the node", async () => {
    const script = new URL("./fixtures/counter-node.ts", import.meta.url).pathname
    const startChild = () =>
      new Promise<ReturnType<typeof spawn>>((resolve, reject) => {
        const p = spawn(process.execPath, ["--import", "tsx", script, server.url], { stdio: ["ignore", "pipe", "inherit"] })
        createInterface({ input: p.stdout! }).on("line", (l) => l === "ready" && resolve(p))
        p.on("exit", (c) => reject(new Error(`child exited ${c}`)))
      })
    const child = await startChild()
    const ask = async (tag: string, body: string) =>
      JSON.parse(dec.decode((await nc.request(`ants.default.agent.counter.durable.${tag}`, new TextEncoder().encode(body), { timeout: 5000 })).data))
    expect((await ask("Add", '{"n":7}')).value.total).toBe(7)
    expect((await ask("Add", '{"n":3}')).value.total).toBe(10)
    // wait until the checkpoint is stored (after-change writes right behind the reply)
    const kv = await new Kvm(nc).open("ants_state")
    await waitUntil(async () => (await kv.get("default.counter.durable"))?.json<{ state: { total: number } }>().state.total === 10)
    child.kill("SIGKILL")
    await new Promise((r) => child.on("exit", r))
    const again = await startChild()
    try {
      // until the dead node's membership expires its partitions are unowned: asks fail, then succeed
      const got = await waitUntil(async () => (await ask("Get", "{}").catch(() => undefined))?.value, { timeoutMs: 15_000 })
      expect(got.total).toBe(10)
    } finally {
      again.kill("SIGTERM")
      await new Promise((r) => again.on("exit", r))
    }
  })

  it("lifecycle - a warm pool is activated at start and never passivates", async () => {
    const pooled = defineAgent({
      type: "pooled",
      protocol: { Ping: { message: Empty, reply: Schema.String } },
      warmPool: 3,
      handlers: { Ping: (_m, ctx) => ctx.self.id },
    })
    const node = await startNode({ agents: [pooled], nats: server.url, passivateAfterMs: 50, idleAfterMs: 20, logger: quiet })
    try {
      expect(warmPoolIds(pooled)).toEqual(["pooled-0", "pooled-1", "pooled-2"])
      await waitUntil(() => {
        const t = node.stats().types.pooled
        return t.active + t.idle === 3
      })
      const before = node.stats().types.pooled.activations
      expect(await node.client.ref(pooled, "pooled-1").ask("Ping", {})).toBe("pooled-1")
      expect(node.stats().types.pooled.activations).toBe(before) // no activation needed
      await new Promise((r) => setTimeout(r, 300)) // several passivation periods
      expect(node.stats().types.pooled.passivations).toBe(0)
    } finally {
      await node.drain()
    }
  })

  it("lifecycle - always_on instances start with the node; business hours follow the window", async () => {
    const sentinel = defineAgent({
      type: "sentinel",
      protocol: { Ping: { message: Empty, reply: Schema.String } },
      tier: "always_on",
      instances: ["guard"],
      handlers: { Ping: () => "pong" },
    })
    const node = await startNode({ agents: [sentinel], nats: server.url, passivateAfterMs: 50, idleAfterMs: 20, logger: quiet })
    try {
      await waitUntil(() => node.stats().types.sentinel.activations === 1)
      await new Promise((r) => setTimeout(r, 300))
      expect(node.stats().types.sentinel.passivations).toBe(0)
    } finally {
      await node.drain()
    }
    // 09:00–17:00 Paris time on weekdays
    const w = { open: "0 9 * * 1-5", close: "0 17 * * 1-5", timezone: "Europe/Paris" }
    expect(insideWindow(w, Date.parse("2026-11-23T09:30:00Z"))).toBe(true) // Monday 10:30 Paris
    expect(insideWindow(w, Date.parse("2026-11-23T16:30:00Z"))).toBe(false) // Monday 17:30 Paris
    expect(insideWindow(w, Date.parse("2026-11-22T10:00:00Z"))).toBe(false) // Sunday
  })

  it("lifecycle - a cron schedule wakes the actor with its message, once per firing across nodes", async () => {
    const reporter = defineAgent({
      type: "reporter",
      protocol: {
        Report: { message: Schema.Struct({ kind: Schema.String }), reply: Schema.Null },
        Count: { message: Empty, reply: Schema.Number },
      },
      initialState: () => ({ reports: 0 }),
      schedules: [{ name: "every-second", cron: "* * * * * *", id: "weekly", tag: "Report", message: { kind: "weekly" } }],
      handlers: {
        Report: (_m, ctx) => {
          ctx.state.reports++
          return null
        },
        Count: (_m, ctx) => ctx.state.reports,
      },
    })
    const a = await startNode({ agents: [reporter], nats: server.url, logger: quiet })
    const b = await startNode({ agents: [reporter], nats: server.url, logger: quiet })
    try {
      const ref = a.client.ref(reporter, "weekly")
      await waitUntil(async () => (await ref.ask("Count", {})) >= 2, { timeoutMs: 15_000 })
      await a.drain()
      await b.drain()
      const kv = await new Kvm(nc).open("ants_schedules")
      const claims: string[] = []
      for await (const k of await kv.keys("reporter.every-second.>")) claims.push(k)
      const c = await startNode({ agents: [], nats: server.url, logger: quiet })
      const st = await new Kvm(nc).open("ants_state")
      const reports = (await st.get("default.reporter.weekly"))!.json<{ state: { reports: number } }>().state.reports
      await c.drain()
      // every delivered firing was claimed once; two nodes never delivered the same firing twice
      expect(reports).toBeLessThanOrEqual(claims.length)
      expect(reports).toBeGreaterThanOrEqual(2)
    } finally {
      await a.drain()
      await b.drain()
    }
  })

  it("lifecycle - a declared topic wakes the addressed actor", async () => {
    const fraud = defineAgent({
      type: "fraud",
      protocol: {
        HighValue: { message: Schema.Struct({ account: Schema.String, amount: Schema.Number }), reply: Schema.Null },
        Seen: { message: Empty, reply: Schema.Number },
      },
      initialState: () => ({ seen: 0 }),
      topics: [{ pattern: "transaction.high_value", tag: "HighValue", to: (e) => (e as { account: string }).account }],
      handlers: {
        HighValue: (_m, ctx) => {
          ctx.state.seen++
          return null
        },
        Seen: (_m, ctx) => ctx.state.seen,
      },
    })
    const node = await startNode({ agents: [fraud], nats: server.url, logger: quiet })
    try {
      const w = watchLifecycle("acme", "fraud", "acct-9")
      await nc.flush()
      nc.publish("ants.acme.topic.transaction.high_value", new TextEncoder().encode('{"account":"acct-9","amount":50000}'))
      await waitUntil(() => w.events.some((e) => e.to === "active"))
      const seen = await node.client.ref(fraud, "acct-9", "acme").ask("Seen", {})
      expect(seen).toBe(1)
      w.stop()
    } finally {
      await node.drain()
    }
  })

  it("lifecycle - a warm pool stopped with its type is woken again when the type is reset", async () => {
    const flaky = defineAgent({
      type: "flakypool",
      protocol: { Ping: { message: Empty, reply: Schema.String }, Boom: { message: Empty, reply: Schema.Null } },
      warmPool: 2,
      supervision: { intensity: 0, typeIntensity: 0 },
      checkpoint: "never",
      handlers: {
        Ping: (_m, ctx) => ctx.self.id,
        Boom: () => {
          throw new Error("boom")
        },
      },
    })
    const node = await startNode({ agents: [flaky], nats: server.url, idleAfterMs: 50, logger: quiet })
    const awake = () => node.stats().types.flakypool.active + node.stats().types.flakypool.idle + node.stats().types.flakypool.warming
    try {
      await waitUntil(() => awake() === 2, { message: "pool activated at start" })
      await node.client.ref(flaky, "other").ask("Boom", {}).catch(() => undefined)
      await waitUntil(() => awake() === 0, { message: "pool stopped with its type" })
      expect(node.stats().types.flakypool.unavailable).toBeDefined()
      node.supervision!.reset({ type: "flakypool" })
      await waitUntil(() => awake() === 2, { message: "pool woken again after the reset" })
      expect(node.stats().types.flakypool.activations).toBe(5) // 2 + the failing one + 2
      expect(await node.client.ref(flaky, "flakypool-1").ask("Ping", {})).toBe("flakypool-1")
    } finally {
      await node.drain()
    }
  })

  it("lifecycle - warm-pool actors are woken by the node that gains their partition", async () => {
    const spread = defineAgent({ type: "spreadpool", protocol: { Ping: { message: Empty, reply: Schema.String } }, warmPool: 12, handlers: { Ping: (_m, ctx) => ctx.self.id } })
    expect(idsToKeepAwake(spread, Date.now())).toHaveLength(12)
    const awake = (n: AntsNode) => n.stats().types.spreadpool.active + n.stats().types.spreadpool.idle
    // fixed node ids: partition owners are the rendezvous winners over the node ids, so with ids
    // made afresh each run the whole pool could land on one node; with these it is split every run
    const a = await startNode({ agents: [spread], nats: server.url, idleAfterMs: 50, logger: quiet, nodeId: "spreadpool-a" })
    const b = await startNode({ agents: [spread], nats: server.url, idleAfterMs: 50, logger: quiet, nodeId: "spreadpool-b" })
    try {
      // the pool is split between the nodes by partition owner, every actor awake once
      await waitUntil(() => awake(a) > 0 && awake(b) > 0 && awake(a) + awake(b) === 12, { timeoutMs: 20_000, message: "pool split between the nodes" })
      // b leaves: a gains b's partitions and must wake b's share of the pool itself (its start wakes are long gone)
      await b.drain()
      await waitUntil(() => awake(a) === 12, { timeoutMs: 20_000, message: "the whole pool re-woken on the node that gained the partitions" })
      const nodes = await Promise.all(
        warmPoolIds(spread).map(async (pid) => JSON.parse(dec.decode((await nc.request(`ants.default.agent.spreadpool.${pid}._Inspect`, new Uint8Array(), { timeout: 5000 })).data)).value.node),
      )
      expect(new Set(nodes)).toEqual(new Set([a.id]))
    } finally {
      await b.drain()
      await a.drain()
    }
  })

  it("lifecycle - an actor that passivated on one node wakes on another as sleeping>warming, with its accounting", async () => {
    const first = await startNode({ agents: [counter], nats: server.url, passivateAfterMs: 100, idleAfterMs: 30, logger: quiet })
    const w = watchLifecycle("default", "counter", "traveller")
    try {
      await nc.flush()
      await first.client.ref(counter, "traveller").ask("Add", { n: 1 })
      await waitUntil(() => w.events.some((e) => e.to === "sleeping"))
    } finally {
      await first.drain()
    }
    const second = await startNode({ agents: [counter], nats: server.url, logger: quiet })
    try {
      expect(await second.client.ref(counter, "traveller").ask("Get", {})).toEqual({ total: 1 })
      await waitUntil(() => w.events.filter((e) => e.node === second.id).length >= 2)
      expect(w.events.filter((e) => e.node === second.id).map((e) => `${e.from}>${e.to}`).slice(0, 2)).toEqual(["sleeping>warming", "warming>active"])
      const inspect = JSON.parse(dec.decode((await nc.request("ants.default.agent.counter.traveller._Inspect", new Uint8Array(), { timeout: 5000 })).data))
      expect(inspect.value.acct.activations).toBe(2)
      expect(inspect.value.acct.sleepingMs).toBeGreaterThan(0)
    } finally {
      w.stop()
      await second.drain()
    }
  })

  it("lifecycle - a schedule fires in its own time zone", async () => {
    // 09:00 in Tokyo (UTC+9) is 00:00 UTC; in New York on 1 December (UTC-5) it is 14:00 UTC
    const from = Date.parse("2026-12-01T01:00:00Z")
    expect(new Date(nextFiring({ cron: "0 9 * * *", timezone: "Asia/Tokyo" }, from)!).toISOString()).toBe("2026-12-02T00:00:00.000Z")
    expect(new Date(nextFiring({ cron: "0 9 * * *", timezone: "America/New_York" }, from)!).toISOString()).toBe("2026-12-01T14:00:00.000Z")
    expect(new Date(nextFiring({ cron: "0 9 * * *" }, from)!).toISOString()).toBe("2026-12-01T09:00:00.000Z")
    // and a zoned schedule is delivered like any other (every second, in Tokyo time)
    const zoned = defineAgent({
      type: "zoned",
      protocol: { Tick: { message: Schema.Struct({ zone: Schema.String }), reply: Schema.Null }, Ticks: { message: Empty, reply: Schema.Array(Schema.String) } },
      initialState: () => ({ zones: [] as string[] }),
      schedules: [{ name: "tokyo", cron: "* * * * * *", timezone: "Asia/Tokyo", id: "clock", tag: "Tick", message: { zone: "Asia/Tokyo" } }],
      handlers: {
        Tick: ({ zone }, ctx) => {
          ctx.state.zones.push(zone)
          return null
        },
        Ticks: (_m, ctx) => ctx.state.zones,
      },
    })
    const node = await startNode({ agents: [zoned], nats: server.url, logger: quiet })
    try {
      const ticks = await waitUntil(async () => {
        const z = await node.client.ref(zoned, "clock").ask("Ticks", {})
        return z.length >= 1 ? z : undefined
      })
      expect(ticks[0]).toBe("Asia/Tokyo")
    } finally {
      await node.drain()
    }
  })

  it("lifecycle - the node's passivateAfterMs (--passivate-after) applies to types that set none, a type's own wins", async () => {
    const mayNap = defineAgent({ type: "maynap", protocol: { Ping: { message: Empty, reply: Schema.String } }, handlers: { Ping: () => "pong" } })
    const stayUp = defineAgent({ type: "stayup", protocol: { Ping: { message: Empty, reply: Schema.String } }, passivateAfterMs: 600_000, handlers: { Ping: () => "pong" } })
    const node = await startNode({ agents: [mayNap, stayUp], nats: server.url, passivateAfterMs: 100, idleAfterMs: 30, logger: quiet })
    try {
      const nap = watchLifecycle("default", "maynap", "n")
      const up = watchLifecycle("default", "stayup", "u")
      await nc.flush()
      await node.client.ref(mayNap, "n").ask("Ping", {})
      await node.client.ref(stayUp, "u").ask("Ping", {})
      await waitUntil(() => nap.events.some((e) => e.to === "sleeping"), { message: "the default-passivation type slept" })
      // both went idle at about the same time (the events may arrive in either order on a loaded
      // machine); only the one without its own setting passivated
      await waitUntil(() => up.events.some((e) => e.to === "idle"), { message: "the type with its own setting went idle" })
      expect(up.events.map((e) => e.to)).not.toContain("sleeping")
      expect(node.stats().types.stayup.idle).toBe(1)
      nap.stop()
      up.stop()
    } finally {
      await node.drain()
    }
  })
})
