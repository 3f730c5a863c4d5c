/**
 * Fair across actors (runtime/actor/turn-budget.ts): an actor working through a long mailbox of
 * async handlers gives the event loop back once a turn's budget is spent, so sockets, timers and
 * other actors are served while it catches up; its own messages keep their order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let open: () => void = () => undefined
const gateOpen = new Promise<void>((r) => (open = r))
const steps: number[] = []

/** `Wait` holds the actor until the test opens the gate; `Step` (async, resolving at once) records its number. */
const gate = defineAgent({
  type: "gate",
  protocol: {
    Wait: { message: Empty, reply: Empty },
    Step: { message: Schema.Struct({ n: Schema.Number }), reply: Empty },
  },
  checkpoint: "never",
  handlers: {
    Wait: async () => {
      await gateOpen
      return {}
    },
    Step: async ({ n }) => {
      steps.push(n)
      return {}
    },
  },
})

const unlimited = { ratePerSec: Number.POSITIVE_INFINITY }
const enc = new TextEncoder()
const nats = natsPerFile()
let node: AntsNode

beforeAll(async () => {
  node = await startNode({ agents: [gate], nats: nats.server.url, logger: () => {}, limits: { tenantRate: unlimited, agentRate: unlimited } })
})

afterAll(async () => {
  open()
  await node?.drain()
})

describe("actor fairness", () => {
  it("actor fairness - a long mailbox of async turns gives the event loop back between slices, in order", async () => {
    const n = 900
    const nc = nats.nc
    const at = (tag: string) => agentSubject({ tenant: "t", type: "gate", id: "busy", tag })
    nc.publish(at("Wait"), enc.encode("{}"))
    for (let i = 0; i < n; i++) nc.publish(at("Step"), enc.encode(JSON.stringify({ n: i })))
    await nc.flush()
    // everything is queued behind Wait before the gate opens
    await waitUntil(() => node.stats().messages.gate?.t?.received === n + 1)
    expect(steps.length).toBe(0)
    // what the actor had done at each loop turn of this test's, until it is done (the long `Wait`
    // turn may spend the budget itself, so the actor may yield before its first `Step`)
    const seen: number[] = []
    const look = () => {
      seen.push(steps.length)
      if (steps.length < n) setImmediate(look)
    }
    open()
    setImmediate(look)
    await waitUntil(() => steps.length === n)
    // 900 async turns take several milliseconds: the actor gave the loop back before the end
    expect(seen.some((s) => s > 0 && s < n), `steps done at each look: ${seen.join(", ")}`).toBe(true)
    // and between two looks it ran many turns in one go, not one a loop turn
    expect(Math.max(...seen.slice(1).map((s, i) => s - seen[i]!))).toBeGreaterThan(1)
    expect(steps).toEqual(Array.from({ length: n }, (_, i) => i))
  })
})
