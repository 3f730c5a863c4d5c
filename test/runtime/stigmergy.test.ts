import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { defineAgent, Empty } from "../../runtime/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node.ts"
import { ArtifactDelivery } from "../../runtime/stigmergy.ts"
import { createPheromones, createWorkspace } from "../../runtime/pheromones/mod.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import type { NatsConnection } from "@nats-io/nats-core"

/** Reviews artifacts that need review, then marks them done and leaves a success trail. */
const reviewer = defineAgent({
  type: "reviewer",
  protocol: {
    Review: { message: ArtifactDelivery, reply: Schema.Null },
    Reviewed: { message: Empty, reply: Schema.Number },
  },
  initialState: () => ({ reviewed: 0 }),
  interests: [{ statuses: ["needs_review"], claim: "in_review", tag: "Review", to: "r" }],
  handlers: {
    Review: async ({ artifact }, ctx) => {
      await ctx.workspace.transition(artifact.id, { from: "in_review", to: "done", data: { ...(artifact.data as object), reviewedBy: ctx.self.id } })
      await ctx.pheromones.deposit({ type: "success", location: "reviews", strength: "high", data: { artifact: artifact.id } })
      ctx.state.reviewed++
      return null
    },
    Reviewed: (_m, ctx) => ctx.state.reviewed,
  },
})

let server: NatsServer
let nc: NatsConnection
let a: AntsNode
let b: AntsNode

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
  a = await startNode({ agents: [reviewer], nats: server.url, logger: () => {} })
  b = await startNode({ agents: [reviewer], nats: server.url, logger: () => {} })
})

afterAll(async () => {
  await a?.drain()
  await b?.drain()
  await nc?.close()
  await server?.stop()
})

describe("stigmergy in the runtime", () => {
  it("stigmergy - an artifact needing review is delivered once to the interested type, and its trail is left", async () => {
    const ws = createWorkspace(nc, { actor: "writer" })
    for (let i = 0; i < 5; i++) await ws.create({ id: `reports.r${i}`, kind: "report", status: "needs_review", data: { n: i } })
    await waitUntil(async () => (await ws.list({ statuses: ["done"] })).length === 5, { timeoutMs: 20_000 })
    const done = await ws.list({ statuses: ["done"] })
    expect(done.every((d) => (d.data as { reviewedBy: string }).reviewedBy === "r")).toBe(true)
    // exactly once across both nodes: the one actor "r" reviewed each artifact once
    expect(await a.client.ref(reviewer, "r").ask("Reviewed", {})).toBe(5)
    const trails = await createPheromones(nc).detect({ location: "reviews", types: ["success"] })
    expect(trails.length).toBe(5)
    expect(trails[0].emitter).toBe("default/reviewer/r")
    await ws.close()
  })
})
