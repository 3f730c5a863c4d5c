import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import type { NatsConnection } from "@nats-io/nats-core"
import { counter } from "../../actors/examples/index.ts"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { isAskError } from "../../runtime/client/messaging.ts"
import { Kvm } from "@nats-io/kv"
import { natsPerFile, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let nc: NatsConnection
const dec = new TextDecoder()

function watch(subject: string) {
  const events: any[] = []
  const sub = nc.subscribe(subject, { callback: (_e, m) => void events.push(JSON.parse(dec.decode(m.data))) })
  return { events, stop: () => sub.unsubscribe() }
}

natsPerFile({}, (s, c) => ([server, nc] = [s, c]))

describe("supervision in the runtime", () => {
  it("supervision - a crash restarts the actor from its last checkpoint and the decision is published", async () => {
    const node = await startNode({ agents: [counter], nats: server.url, logger: () => {} })
    try {
      const w = watch("ants._sys.supervisor.default.counter.crashy")
      await nc.flush()
      const ref = node.client.ref(counter, "crashy")
      await ref.ask("Add", { n: 4 })
      const err = await ref.ask("Fail", { reason: "kaboom" }).catch((e) => e)
      expect(isAskError(err) && err.code).toBe("handler_failed")
      await waitUntil(() => w.events.length === 1)
      expect(w.events[0]).toMatchObject({ directive: "restart", node: node.id })
      expect(w.events[0].reason).toContain("kaboom")
      // later messages are processed normally (after the restart backoff), state from the checkpoint
      expect(await ref.ask("Get", {})).toEqual({ total: 4 })
      expect(node.stats().types.counter.restarts).toBe(1)
      w.stop()
    } finally {
      await node.drain()
    }
  })

  it("supervision - a crash while answered changes are still being checkpointed keeps those changes", async () => {
    // The tells and the ask leave in one socket write, so the node handles all three before the
    // first checkpoint write can return: the restart must not fall back to the older checkpoint.
    const node = await startNode({ agents: [counter], nats: server.url, logger: () => {} })
    const ref = node.client.ref(counter, "inflight")
    try {
      ref.tell("Add", { n: 4 })
      ref.tell("Add", { n: 5 })
      const err = await ref.ask("Fail", { reason: "right after" }).catch((e) => e)
      expect(isAskError(err) && err.code).toBe("handler_failed")
      expect(await ref.ask("Get", {})).toEqual({ total: 9 })
      expect(await ref.ask("Add", { n: 1 })).toEqual({ total: 10 })
    } finally {
      await node.drain()
    }
    // and what was stored is the last answered state, not a half-done one
    const again = await startNode({ agents: [counter], nats: server.url, logger: () => {} })
    try {
      expect(await again.client.ref(counter, "inflight").ask("Get", {})).toEqual({ total: 10 })
    } finally {
      await again.drain()
    }
  })

  it("supervision - a state change lost in a crash is rolled back to the checkpoint", async () => {
    const fragile = defineAgent({
      type: "fragile",
      protocol: {
        AddThenFail: { message: Schema.Struct({ n: Schema.Number }), reply: Schema.Null },
        Add: { message: Schema.Struct({ n: Schema.Number }), reply: Schema.Number },
      },
      initialState: () => ({ total: 0 }),
      handlers: {
        AddThenFail: ({ n }, ctx) => {
          ctx.state.total += n
          throw new Error("half-done")
        },
        Add: ({ n }, ctx) => (ctx.state.total += n),
      },
    })
    const node = await startNode({ agents: [fragile], nats: server.url, logger: () => {} })
    try {
      const ref = node.client.ref(fragile, "f")
      expect(await ref.ask("Add", { n: 1 })).toBe(1)
      await ref.ask("AddThenFail", { n: 100 }).catch(() => undefined)
      expect(await ref.ask("Add", { n: 1 })).toBe(2)
    } finally {
      await node.drain()
    }
  })

  it("supervision - beyond the intensity the actor stops, and beyond the type's the type answers unavailable; the node stays up", async () => {
    const bomb = defineAgent({
      type: "bomb",
      protocol: { Boom: { message: Empty, reply: Schema.Null }, Ping: { message: Empty, reply: Schema.String } },
      supervision: { intensity: 1, periodMs: 60_000, typeIntensity: 1, typePeriodMs: 60_000, backoff: { initialMs: 1, maxMs: 1 } },
      checkpoint: "never",
      handlers: {
        Boom: () => {
          throw new Error("boom")
        },
        Ping: () => "pong",
      },
    })
    const node = await startNode({ agents: [bomb, counter], nats: server.url, logger: () => {} })
    try {
      const w = watch("ants._sys.supervisor.>")
      await nc.flush()
      const ref = node.client.ref(bomb, "b1")
      const codes: string[] = []
      for (let i = 0; i < 6; i++) {
        codes.push(await ref.ask("Boom", {}).then(() => "ok", (e) => (isAskError(e) ? e.code : "other")))
        if (codes.at(-1) === "unavailable") break
      }
      // two actors exceeding their intensity make the type give up
      for (let i = 0; i < 6 && node.stats().types.bomb.unavailable === undefined; i++) {
        await node.client.ref(bomb, "b2").ask("Boom", {}).catch(() => undefined)
      }
      expect(node.stats().types.bomb.unavailable).toBeDefined()
      const after = await node.client.ref(bomb, "b3").ask("Ping", {}).catch((e) => e)
      expect(isAskError(after) && after.code).toBe("unavailable")
      expect(after.message).toContain("unavailable")
      // other types on the node keep serving
      expect(await node.client.ref(counter, "alive").ask("Add", { n: 1 })).toEqual({ total: 1 })
      await waitUntil(() => w.events.some((e) => e.directive === "stop"))
      expect(w.events.map((e) => e.directive)).toContain("restart")
      w.stop()
    } finally {
      await node.drain()
    }
  })

  it("supervision - a decider can resume (keep state) instead of restarting", async () => {
    const tolerant = defineAgent({
      type: "tolerant",
      protocol: {
        Add: { message: Schema.Struct({ n: Schema.Number }), reply: Schema.Number },
        Oops: { message: Empty, reply: Schema.Null },
      },
      initialState: () => ({ total: 0 }),
      checkpoint: "never",
      supervision: { decider: () => "resume" },
      handlers: {
        Add: ({ n }, ctx) => (ctx.state.total += n),
        Oops: () => {
          throw new Error("minor")
        },
      },
    })
    const node = await startNode({ agents: [tolerant], nats: server.url, logger: () => {} })
    try {
      const ref = node.client.ref(tolerant, "t")
      await ref.ask("Add", { n: 5 })
      await ref.ask("Oops", {}).catch(() => undefined)
      expect(await ref.ask("Add", { n: 1 })).toBe(6) // in-memory state kept: resumed, not restarted
    } finally {
      await node.drain()
    }
  })
})

const enc = new TextEncoder()

/** A request the way any NATS client makes it, decoded envelope. */
async function request(subject: string, body: unknown = {}): Promise<any> {
  return JSON.parse(dec.decode((await nc.request(subject, enc.encode(JSON.stringify(body)), { timeout: 5000 })).data))
}

/** A pair type: state kept in memory only until passivation or drain, so a restart visibly goes back to the checkpoint. */
function pairType(activated: string[]) {
  return defineAgent({
    type: "pairmember",
    protocol: {
      Add: { message: Schema.Struct({ n: Schema.Number }), reply: Schema.Number },
      Get: { message: Empty, reply: Schema.Number },
      Crash: { message: Empty, reply: Schema.Null },
    },
    initialState: () => ({ total: 0 }),
    checkpoint: "on-passivate",
    onActivate: (ctx) => void activated.push(ctx.self.id),
    handlers: {
      Add: ({ n }, ctx) => (ctx.state.total += n),
      Get: (_m, ctx) => ctx.state.total,
      Crash: () => {
        throw new Error("left crashed")
      },
    },
  })
}

describe("user-built supervision trees", () => {
  it("supervision tree - a one_for_all supervisor of two singleton actors restarts both when one crashes", async () => {
    const activated: string[] = []
    const member = pairType(activated)
    const node = await startNode({
      agents: [member],
      nats: server.url,
      logger: () => {},
      supervision: {
        children: [
          {
            id: "pair",
            kind: "supervisor",
            spec: {
              strategy: "one_for_all",
              intensity: 5,
              backoff: { initialMs: 1, maxMs: 1 },
              children: [
                { id: "left", actor: { type: "pairmember", id: "left" } },
                { id: "right", actor: { type: "pairmember", id: "right" } },
              ],
            },
          },
        ],
      },
    })
    try {
      // the workers' actors are started with the node
      await waitUntil(() => activated.includes("left") && activated.includes("right"), { message: "both singletons activated" })
      expect(node.supervision!.inspect(["pair"])).toMatchObject({ status: "running", children: [{ name: "root/pair/left" }, { name: "root/pair/right" }] })
      const sup = watch("ants._sys.supervisor.default._tree.>")
      const life = watch("ants._sys.lifecycle.default.pairmember.right")
      await nc.flush()
      const left = node.client.ref(member, "left")
      const right = node.client.ref(member, "right")
      expect(await left.ask("Add", { n: 3 })).toBe(3)
      expect(await right.ask("Add", { n: 4 })).toBe(4)
      const err = await left.ask("Crash", {}).catch((e) => e)
      expect(isAskError(err) && err.code).toBe("handler_failed")
      await waitUntil(() => sup.events.length >= 1, { message: "the pair supervisor's decision" })
      expect(sup.events[0]).toMatchObject({ directive: "restart", supervisor: "root/pair", restarts: 1 })
      expect(sup.events[0].reason).toContain('one_for_all restarts "left", "right"')
      // both went back to their checkpoint (none yet: on-passivate), and onActivate ran again for both
      expect(await left.ask("Get", {})).toBe(0)
      expect(await right.ask("Get", {})).toBe(0)
      expect(activated.filter((a) => a === "left")).toHaveLength(2)
      expect(activated.filter((a) => a === "right")).toHaveLength(2)
      // the sibling's restart is a published re-activation
      await waitUntil(() => life.events.some((e) => e.from === "warming" && e.to === "active"))
      expect(life.events.map((e) => `${e.from}>${e.to}`).filter((t) => t.endsWith("warming") || t.startsWith("warming"))).toEqual(["active>warming", "warming>active"])
      expect(node.stats().types.pairmember.restarts).toBe(2)
      sup.stop()
      life.stop()
    } finally {
      await node.drain()
    }
  })

  it("supervision tree - a one_for_all supervisor over a worker and a placed type stops the type's actors and serves again after the delay", async () => {
    const activated: string[] = []
    const member = pairType(activated)
    const node = await startNode({
      agents: [member, counter],
      nats: server.url,
      logger: () => {},
      supervision: {
        children: [
          {
            id: "group",
            kind: "supervisor",
            spec: {
              strategy: "one_for_all",
              intensity: 5,
              backoff: { initialMs: 1, maxMs: 1 },
              children: [
                { id: "left", actor: { type: "pairmember", id: "left" } },
                { id: "counter", kind: "type" },
              ],
            },
          },
        ],
      },
    })
    try {
      // the type sits where it was placed, not at the root as well
      expect(node.supervision!.pathOf("counter")).toEqual(["group", "counter"])
      expect(node.supervision!.inspect()!.children!.map((c) => c.name)).toEqual(["root/group", "root/pairmember"])
      await waitUntil(() => activated.includes("left"))
      expect(await node.client.ref(counter, "c").ask("Add", { n: 2 })).toEqual({ total: 2 })
      await node.client.ref(member, "left").ask("Crash", {}).catch(() => undefined)
      // the counter actor was stopped with its type (one_for_all) and comes back from its checkpoint
      expect(await waitUntil(() => node.client.ref(counter, "c").ask("Get", {}).catch(() => undefined))).toEqual({ total: 2 })
      expect(node.stats().types.counter.activations).toBe(2)
    } finally {
      await node.drain()
    }
  })

  it("supervision tree - rest_for_one restarts the crashed singleton and those after it; beyond its intensity it escalates and the root restarts it", async () => {
    const activated: string[] = []
    const member = pairType(activated)
    const node = await startNode({
      agents: [member],
      nats: server.url,
      logger: () => {},
      passivateAfterMs: 50,
      idleAfterMs: 20,
      supervision: {
        root: { intensity: 5, backoff: { initialMs: 1, maxMs: 1 } },
        children: [
          {
            id: "chain",
            kind: "supervisor",
            spec: {
              strategy: "rest_for_one",
              intensity: 1,
              periodMs: 60_000,
              backoff: { initialMs: 1, maxMs: 1 },
              children: ["a", "b", "c"].map((x) => ({ id: x, actor: { type: "pairmember", id: x } })),
            },
          },
        ],
      },
    })
    const refs = Object.fromEntries(["a", "b", "c"].map((x) => [x, node.client.ref(member, x)]))
    const totals = async () => Promise.all(["a", "b", "c"].map((x) => refs[x].ask("Get", {})))
    try {
      await waitUntil(() => ["a", "b", "c"].every((x) => activated.includes(x)))
      for (const x of ["a", "b", "c"]) await refs[x].ask("Add", { n: 1 })
      const tree = watch("ants._sys.supervisor.default._tree.>")
      await nc.flush()
      await refs.b.ask("Crash", {}).catch(() => undefined)
      // b and c went back to their (empty) checkpoint; a kept its state
      expect(await totals()).toEqual([1, 0, 0])
      // singletons run by workers never passivate, however idle
      await waitUntil(() => node.stats().types.pairmember.idle === 3)
      expect(node.stats().types.pairmember.passivations).toBe(0)
      // a second crash exceeds chain's intensity: chain gives up, the root restarts it with all three
      for (const x of ["a", "b", "c"]) await refs[x].ask("Add", { n: 10 })
      await refs.b.ask("Crash", {}).catch(() => undefined)
      await waitUntil(() => tree.events.some((e) => e.supervisor === "root" && e.directive === "restart"), { message: "the root restarted chain" })
      expect(tree.events.map((e) => [e.supervisor, e.directive])).toEqual([
        ["root/chain", "restart"],
        ["root/chain", "escalate"],
        ["root", "restart"],
      ])
      // every singleton is back, the crashed one re-activated by the node (no message asked for it)
      await waitUntil(() => node.stats().types.pairmember.activations === 4 && node.stats().types.pairmember.warming === 0, { message: "b re-activated" })
      expect(node.stats().types.pairmember.active + node.stats().types.pairmember.idle).toBe(3)
      expect(await totals()).toEqual([0, 0, 0])
      expect(node.supervision!.inspect(["chain"])).toMatchObject({ status: "running" })
      tree.stop()
    } finally {
      await node.drain()
    }
  })

  it("supervision tree - a tree that places a type the node does not host is refused with a clear error", async () => {
    await expect(
      startNode({ agents: [counter], nats: server.url, logger: () => {}, supervision: { children: [{ id: "ghost", kind: "type" }] } }),
    ).rejects.toThrow(/places type "ghost", which this node does not host/)
  })
})

/** An agent whose `Hold` handler waits for the test to let it go. */
function holdType(type: string) {
  const gate: { started: number; release: () => void; wait: Promise<void> } = { started: 0, release: () => {}, wait: Promise.resolve() }
  gate.wait = new Promise<void>((r) => (gate.release = r))
  const def = defineAgent({
    type,
    protocol: {
      Hold: { message: Empty, reply: Schema.Number },
      Boom: { message: Empty, reply: Schema.Null },
      Ping: { message: Empty, reply: Schema.String },
    },
    initialState: () => ({ held: 0 }),
    handlers: {
      Hold: async (_m, ctx) => {
        gate.started++
        await gate.wait
        return ++ctx.state.held
      },
      Boom: () => {
        throw new Error("boom")
      },
      Ping: () => "pong",
    },
  })
  return { def, gate }
}

describe("shutdown timeout", () => {
  for (const [shutdownMs, kept] of [
    [60_000, true],
    [0, false],
  ] as const) {
    it(`shutdown - a type stopped by its supervisor with shutdownMs ${shutdownMs} ${kept ? "lets the handler in flight finish and keeps its change" : "stops at once (brutal kill) and keeps nothing"}`, async () => {
      const type = `hold${shutdownMs}`
      const { def, gate } = holdType(type)
      const node = await startNode({
        agents: [def],
        nats: server.url,
        logger: () => {},
        supervision: { children: [{ id: type, kind: "type", restart: "temporary", shutdownMs, policy: { intensity: 0, typeIntensity: 0 } }] },
      })
      try {
        const holding = node.client.ref(def, "h1").ask("Hold", {}).then((v) => ({ ok: true as const, v }), (e) => ({ ok: false as const, e }))
        await waitUntil(() => gate.started === 1, { message: "Hold started" })
        await node.client.ref(def, "h2").ask("Boom", {}).catch(() => undefined)
        // the type gave up: it answers unavailable at once, with the reason
        const after = await node.client.ref(def, "h3").ask("Ping", {}).catch((e) => e)
        expect(isAskError(after) && after.code).toBe("unavailable")
        expect(after.message).toContain("gives up")
        gate.release()
        const r = await holding
        const kv = await new Kvm(nc).open("ants_state")
        const stored = await kv.get(`default.${type}.h1`)
        if (kept) {
          expect(r).toEqual({ ok: true, v: 1 })
          await waitUntil(() => node.stats().types[type].active + node.stats().types[type].idle === 0)
          expect(stored?.json<{ state: { held: number } }>().state.held).toBe(1)
        } else {
          expect(r.ok === false && isAskError(r.e) && r.e.code).toBe("unavailable")
          expect(stored?.operation === "PUT" ? stored.json<{ state: { held: number } }>().state.held : undefined).toBeUndefined()
        }
      } finally {
        gate.release()
        await node.drain()
      }
    })
  }
})

describe("reset, restart delay and type-level events", () => {
  const bombType = (type: string) =>
    defineAgent({
      type,
      protocol: { Boom: { message: Empty, reply: Schema.Null }, Ping: { message: Empty, reply: Schema.String } },
      supervision: { intensity: 0, typeIntensity: 0, backoff: { initialMs: 1, maxMs: 1 } },
      checkpoint: "never",
      handlers: {
        Boom: () => {
          throw new Error("boom")
        },
        Ping: () => "pong",
      },
    })

  it("supervision reset - a type that gave up publishes on <type>._type, answers unavailable with the reason, and serves again after a reset request", async () => {
    const bomb = bombType("resettable")
    const node = await startNode({ agents: [bomb], nats: server.url, logger: () => {} })
    try {
      const typeEvents = watch("ants._sys.supervisor.default.resettable._type")
      await nc.flush()
      await node.client.ref(bomb, "b1").ask("Boom", {}).catch(() => undefined)
      await waitUntil(() => typeEvents.events.length >= 1, { message: "type-level decision" })
      expect(typeEvents.events[0]).toMatchObject({ directive: "stop", supervisor: "root", node: node.id })
      expect(typeEvents.events[0].reason).toContain('child "resettable" exited')
      const down = await node.client.ref(bomb, "b2").ask("Ping", {}).catch((e) => e)
      expect(isAskError(down) && down.code).toBe("unavailable")
      expect(down.message).toContain("exceeded 0 escalations")
      expect(node.supervision!.typeStatus("resettable")).toMatchObject({ unavailable: true })
      // the tree over NATS, and bad reset bodies
      const tree = await request(`ants._sys.node.${node.id}.supervision.tree`)
      expect(tree.value.children[0]).toMatchObject({ name: "root/resettable", status: "gave_up" })
      expect((await request(`ants._sys.node.${node.id}.supervision.reset`, { path: ["no.such"] })).error.code).toBe("invalid_message")
      expect((await request(`ants._sys.node.${node.id}.supervision.reset`, { type: "nosuch" })).error.message).toContain('type "nosuch" is not supervised')
      const reset = await request(`ants._sys.node.${node.id}.supervision.reset`, { type: "resettable" })
      expect(reset).toMatchObject({ ok: true, value: { name: "root/resettable", status: "running" } })
      expect(await node.client.ref(bomb, "b2").ask("Ping", {})).toBe("pong")
      await waitUntil(() => typeEvents.events.some((e) => e.reason.startsWith("reset by an operator")))
      typeEvents.stop()
    } finally {
      await node.drain()
    }
  })

  it("supervision reset - a permanent type is restarted after the root's backoff, unavailable meanwhile", async () => {
    const bomb = bombType("phoenix")
    const node = await startNode({
      agents: [bomb],
      nats: server.url,
      logger: () => {},
      supervision: { typeRestart: "permanent", root: { intensity: 5, backoff: { initialMs: 3000, maxMs: 3000, jitter: 0 } } },
    })
    try {
      await node.client.ref(bomb, "p1").ask("Boom", {}).catch(() => undefined)
      const meanwhile = await node.client.ref(bomb, "p2").ask("Ping", {}).catch((e) => e)
      expect(isAskError(meanwhile) && meanwhile.code).toBe("unavailable")
      expect(meanwhile.message).toContain("restarting")
      expect(await waitUntil(() => node.client.ref(bomb, "p2").ask("Ping", {}).catch(() => undefined))).toBe("pong")
    } finally {
      await node.drain()
    }
  })
})

describe("restart accounting", () => {
  it("supervision - per-actor restarts and activations survive a drain and a new node; a restart re-runs onActivate and is published", async () => {
    const activated: string[] = []
    const tallied = defineAgent({
      type: "tallied",
      protocol: { Add: { message: Schema.Struct({ n: Schema.Number }), reply: Schema.Number }, Fail: { message: Empty, reply: Schema.Null } },
      initialState: () => ({ total: 0 }),
      supervision: { backoff: { initialMs: 1, maxMs: 1 } },
      onActivate: (ctx) => void activated.push(ctx.self.id),
      handlers: {
        Add: ({ n }, ctx) => (ctx.state.total += n),
        Fail: () => {
          throw new Error("fail")
        },
      },
    })
    const inspect = async () => (await request("ants.default.agent.tallied.t1._Inspect")).value
    const first = await startNode({ agents: [tallied], nats: server.url, logger: () => {} })
    try {
      const life = watch("ants._sys.lifecycle.default.tallied.t1")
      await nc.flush()
      const ref = first.client.ref(tallied, "t1")
      expect(await ref.ask("Add", { n: 2 })).toBe(2)
      await ref.ask("Fail", {}).catch(() => undefined)
      expect(await ref.ask("Add", { n: 1 })).toBe(3)
      await ref.ask("Fail", {}).catch(() => undefined)
      expect(await ref.ask("Add", { n: 0 })).toBe(3) // unchanged state: nothing new to write but the accounting
      expect(activated).toEqual(["t1", "t1", "t1"])
      await waitUntil(() => life.events.filter((e) => e.to === "active").length === 3)
      expect(life.events.map((e) => `${e.from}>${e.to}`)).toEqual(["cold>warming", "warming>active", "active>warming", "warming>active", "active>warming", "warming>active"])
      expect((await inspect()).acct).toMatchObject({ activations: 1, restarts: 2 })
      life.stop()
    } finally {
      await first.drain()
    }
    const second = await startNode({ agents: [tallied], nats: server.url, logger: () => {} })
    try {
      expect((await inspect()).acct).toMatchObject({ activations: 2, restarts: 2 })
    } finally {
      await second.drain()
    }
  })
})
