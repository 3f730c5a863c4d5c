import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { counter } from "../../actors/examples/index.ts"
import { assistant } from "../../actors/examples/assistant.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { costByType, costCommand } from "../../runtime/cli/cost-command.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let node: AntsNode

beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({ agents: [counter], nats: server.url, passivateAfterMs: 100, idleAfterMs: 30, logger: () => {} })
})

afterAll(async () => {
  await node?.drain()
  await server?.stop()
})

describe("ants cost", () => {
  it("cost - prices real activations and sleep with the seed's model", async () => {
    for (let i = 0; i < 5; i++) await node.client.ref(counter, `c${i}`).ask("Add", { n: 1 })
    await waitUntil(() => node.stats().types.counter.sleeping === 5)
    await new Promise((r) => setTimeout(r, 200)) // some sleeping time
    const lines: string[] = []
    expect(await costCommand([], { nc: node.nc, json: true, out: (s) => lines.push(s) })).toBe(0)
    const report = JSON.parse(lines[0])
    const c = report.types.find((t: { type: string }) => t.type === "counter")
    expect(c.activations).toBe(5)
    expect(c.sleepingHours).toBeGreaterThan(0)
    expect(c.cost).toBeLessThan(c.alwaysOnCost)
  })

  it("cost - a type's model spend (calls, tokens, dollars from the models file's prices) is shown beside its compute", async () => {
    const fake = await startFakeOpenAI(() => ({ text: "fine", usage: { input: 1000, output: 200 } }))
    const n = await startNode({
      agents: [assistant, counter],
      nats: server.url,
      nodeId: "n-models",
      memory: false,
      logger: () => {},
      models: { file: { providers: { fake: { kind: "openai", baseURL: `${fake.url}/v1` } }, models: [{ name: "m", provider: "fake", price: { input: 2, output: 10 } }] }, env: {} },
    })
    try {
      for (const id of ["a1", "a2"]) await n.client.ref(assistant, id).ask("Chat", { text: "hello" })
      const lines: string[] = []
      expect(await costCommand([], { nc: n.nc, json: true, out: (s) => lines.push(s) })).toBe(0)
      const report = JSON.parse(lines[0])
      // 2 calls x (1000 in at $2/M + 200 out at $10/M) = $0.008
      expect(report.models.assistant).toMatchObject({ calls: 2, inputTokens: 2000, outputTokens: 400 })
      expect(report.models.assistant.usd).toBeCloseTo(0.008, 9)
      expect(report.types.find((t: { type: string }) => t.type === "assistant")).toMatchObject({ activations: 2 })
      const table: string[] = []
      expect(await costCommand([], { nc: n.nc, json: false, out: (s) => table.push(s) })).toBe(0)
      const row = table.join("\n").split("\n").find((l) => l.startsWith("assistant"))!
      expect(row).toMatch(/\b2\s+2000\/400\s+0\.008000\s*$/)
      // another tenant's turn: per tenant, and --tenant keeps the model spend to that tenant
      await n.client.ref(assistant, "b1", "beta").ask("Chat", { text: "hello" })
      const all: string[] = []
      expect(await costCommand(["--json"], { nc: n.nc, json: true, out: (s) => all.push(s) })).toBe(0)
      const both = JSON.parse(all[0])
      expect(both.models.assistant).toMatchObject({ calls: 3 })
      expect(both.modelsByTenant).toMatchObject({ default: { calls: 2, inputTokens: 2000 }, beta: { calls: 1, inputTokens: 1000, outputTokens: 200 } })
      const beta: string[] = []
      expect(await costCommand(["--tenant", "beta"], { nc: n.nc, json: true, out: (s) => beta.push(s) })).toBe(0)
      const only = JSON.parse(beta[0])
      expect(only.models.assistant).toMatchObject({ calls: 1, inputTokens: 1000 })
      expect(only.models.assistant.usd).toBeCloseTo(0.004, 9)
      expect(Object.keys(only.modelsByTenant)).toEqual(["beta"])
      const tenants: string[] = []
      expect(await costCommand([], { nc: n.nc, json: false, out: (s) => tenants.push(s) })).toBe(0)
      const betaRow = tenants.join("\n").split("\n").find((l) => l.startsWith("beta"))!
      expect(betaRow).toMatch(/\b1\s+1000\/200\s+0\.004000\s*$/)
    } finally {
      await n.drain()
      await fake.close()
    }
  })

  it("cost - the seed's example: 500 agents used 2 h a day save 87%", () => {
    const hour = 3_600_000
    // one day of 500 agents: 2 h active and 22 h asleep each
    const [r] = costByType([{ types: { agent: { activeMs: 500 * 2 * hour, sleepingMs: 500 * 22 * hour, activations: 500, restarts: 0 } } } as never])
    expect(r.alwaysOnCost * 30).toBeCloseTo(75_600) // $/month always on
    expect(r.cost * 30).toBeCloseTo(9_600) // $/month with sleep/wake
    expect(Math.round(r.savedPercent)).toBe(87)
  })
})
