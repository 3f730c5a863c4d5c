import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import type { NatsConnection } from "@nats-io/nats-core"
import { counter } from "../../actors/examples/index.ts"
import { defineAgent, Empty } from "../../runtime/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node.ts"
import { isAskError } from "../../runtime/client.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let nc: NatsConnection
const dec = new TextDecoder()

function watch(subject: string) {
  const events: any[] = []
  const sub = nc.subscribe(subject, { callback: (_e, m) => void events.push(JSON.parse(dec.decode(m.data))) })
  return { events, stop: () => sub.unsubscribe() }
}

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
})

afterAll(async () => {
  await nc?.close()
  await server?.stop()
})

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
