import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { jetstreamManager } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { natsFixture, rawConnect, startNatsCluster, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { TASK_STATUS_BUCKET, TASKS_STREAM } from "../../subjects/tasks.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { defineAgent, AgentDefinitionError } from "../../runtime/agent/define-agent.ts"
import { getTaskStatus, requestTaskStatus } from "../../runtime/tasks/status.ts"
import { submitTask } from "../../runtime/tasks/submit.ts"
import { deadLetters } from "../../runtime/tasks/dead-letters.ts"
import { createPheromones } from "../../runtime/stigmergy/mod.ts"
import { worker, EXAMPLE_WORK_CAPABILITY } from "../../actors/examples/index.ts"
import { FAST, capabilityFor } from "./helpers.ts"

let server: NatsServer
let nc: NatsConnection
const nodes: AntsNode[] = []

async function node(agents: Parameters<typeof startNode>[0]["agents"], extra: Partial<Parameters<typeof startNode>[0]> = {}): Promise<AntsNode> {
  const n = await startNode({ agents, nats: server.url, logger: () => {}, tasks: { workerDefaults: FAST }, ...extra })
  nodes.push(n)
  return n
}

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
})

afterAll(async () => {
  for (const n of nodes) await n.drain().catch(() => undefined)
  await nc?.close()
  await server?.stop()
})

describe("node tasks", () => {
  it("node tasks - a node hosting the example worker serves example.work, answers status requests and dead-letters a failing task after the configured attempts", async () => {
    const n = await node([worker])
    const ok = await submitTask(nc, { capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 5 } })
    const bad = await submitTask(nc, { capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 1, fail: true } })
    await waitUntil(async () => (await getTaskStatus(nc, ok.id))?.state === "completed", { timeoutMs: 10_000 })
    // the status subject is answered by the node's responder (this file runs no other engine)
    const rec = await requestTaskStatus(nc, ok.id)
    expect(rec).toMatchObject({ state: "completed", result: { sleptMs: 5 }, attempts: 1, claimedBy: `${n.id}/worker` })
    await waitUntil(async () => (await getTaskStatus(nc, bad.id))?.state === "dead_lettered", { timeoutMs: 10_000 })
    expect(await requestTaskStatus(nc, bad.id)).toMatchObject({ state: "dead_lettered", reason: "max_attempts", attempts: 3 })
    const dl = await deadLetters(nc).show(bad.id)
    expect(dl).toMatchObject({ attempts: 3, reason: "max_attempts", payload: { ms: 1, fail: true } })
    expect(dl?.lastError).toMatch(/failed on purpose/)
    expect(await requestTaskStatus(nc, "no-such-task")).toBeNull()
    // the node's own engine submits too
    const viaNode = await n.tasks!.submit({ capability: EXAMPLE_WORK_CAPABILITY, payload: {} })
    expect(await n.tasks!.waitForStatus(viaNode.id)).toMatchObject({ state: "completed", result: { sleptMs: 0 } })
  })

  it("node tasks - a task with notBefore falls due on a running node", async () => {
    await node([worker])
    const r = await submitTask(nc, { capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 1 }, notBefore: Date.now() + 400 })
    expect(r.state).toBe("scheduled")
    await waitUntil(async () => (await getTaskStatus(nc, r.id))?.state === "completed", { timeoutMs: 10_000 })
    const rec = await getTaskStatus(nc, r.id)
    expect(Date.parse(rec!.updatedAt)).toBeGreaterThanOrEqual(Date.parse(rec!.notBefore!))
  })

  it("node tasks - drain lets a running task finish and hands a longer one back, which another node completes", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const started: string[] = []
    // slow only on the node that drains: the task it hands back may reach the other node's
    // parked request before drain() resolves
    let slowOn = ""
    const def = defineAgent({
      type: "drainer",
      protocol: {},
      handlers: {},
      capabilities: {
        [cap]: async (p: { ms: number }, ctx) => {
          started.push(ctx.id)
          if (ctx.workerId === slowOn) await new Promise((r) => setTimeout(r, p.ms))
          return { by: ctx.workerId }
        },
      },
    })
    const a = await node([def], { shutdownTimeoutMs: 1_500 })
    slowOn = `${a.id}/drainer`
    const quick = await submitTask(nc, { capability: cap, payload: { ms: 300 } })
    const long = await submitTask(nc, { capability: cap, payload: { ms: 30_000 } })
    await waitUntil(() => started.includes(quick.id) && started.includes(long.id), { timeoutMs: 10_000 })
    const b = await node([def])
    const drained = a.drain()
    await waitUntil(async () => (await getTaskStatus(nc, quick.id))?.state === "completed", { timeoutMs: 10_000 })
    expect(await getTaskStatus(nc, quick.id)).toMatchObject({ state: "completed", claimedBy: `${a.id}/drainer`, attempts: 1 })
    await drained
    await waitUntil(async () => (await getTaskStatus(nc, long.id))?.state === "completed", { timeoutMs: 10_000 })
    expect(await getTaskStatus(nc, long.id)).toMatchObject({ state: "completed", claimedBy: `${b.id}/drainer`, attempts: 2, result: { by: `${b.id}/drainer` } })
  })

  it("node tasks - a marketplace capability is auctioned: status shows the winning agent, trails mark the task and its outcome", async ({ task }) => {
    const cap = capabilityFor(task.name)
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const def = defineAgent({
      type: "bidder",
      protocol: {},
      handlers: {},
      capabilities: {
        [cap]: {
          marketplace: true,
          maxAttempts: 2,
          handle: async (p: { fail?: boolean; hold?: boolean }, ctx) => {
            if (p.hold) await gate
            if (p.fail) throw new Error("cannot do it")
            return { by: ctx.workerId }
          },
        },
      },
    })
    const n = await node([def], { tasks: { workerDefaults: FAST, marketplace: { bidWindowMs: 20 } } })
    const ph = createPheromones(nc, { tenant: "default" })
    const r = await submitTask(nc, { capability: cap, payload: { hold: true }, priority: "critical" })
    // while the winner runs: it is the claimant, and the task trail is out (priority 10 × no deadline 0.5 × 1/1)
    await waitUntil(async () => (await getTaskStatus(nc, r.id))?.claimedBy === `bidder@${n.id}`, { timeoutMs: 10_000 })
    expect((await getTaskStatus(nc, r.id))?.state).toBe("claimed")
    const trail = await ph.get({ location: cap, id: r.id })
    expect(trail).toMatchObject({ type: "task", strength: 0.5 })
    release()
    await waitUntil(async () => (await getTaskStatus(nc, r.id))?.state === "completed", { timeoutMs: 10_000 })
    expect(await getTaskStatus(nc, r.id)).toMatchObject({ state: "completed", claimedBy: `bidder@${n.id}`, result: { by: `bidder@${n.id}` } })
    expect(await ph.get({ location: cap, id: r.id })).toBeUndefined()
    expect((await ph.detect({ types: ["success"], location: cap })).length).toBe(1)
    const f = await submitTask(nc, { capability: cap, payload: { fail: true } })
    await waitUntil(async () => (await getTaskStatus(nc, f.id))?.state === "dead_lettered", { timeoutMs: 10_000 })
    expect(await getTaskStatus(nc, f.id)).toMatchObject({ reason: "max_attempts", attempts: 2 })
    expect((await ph.detect({ types: ["danger"], location: cap })).length).toBeGreaterThan(0)
    await ph.close()
  })

  it("node tasks - bad capability declarations are refused when the type is defined", () => {
    const base = { type: "bad", protocol: {}, handlers: {} }
    expect(() => defineAgent({ ...base, capabilities: { "_lane.x": async () => 1 } })).toThrow(AgentDefinitionError)
    expect(() => defineAgent({ ...base, capabilities: { "a..b": async () => 1 } })).toThrow(/capability/)
    expect(() => defineAgent({ ...base, capabilities: { "a.b": { handle: "nope" as never } } })).toThrow(/handler function/)
    expect(() => defineAgent({ ...base, capabilities: { "a.b": { handle: async () => 1, maxAttempts: 0 } } })).toThrow(/maxAttempts/)
    expect(() => defineAgent({ ...base, capabilities: [{ capability: "a.b", handle: async () => 1 }, { capability: "a.b", handle: async () => 2 }] })).toThrow(/twice/)
  })
})

describe("node tasks on a cluster", () => {
  it("node tasks - the node's replicas option reaches the task streams and buckets", async () => {
    const cluster = await startNatsCluster(3)
    let n: AntsNode | undefined
    const c = await rawConnect(cluster.urls)
    try {
      // JetStream needs its meta leader before anything can be created
      await waitUntil(
        async () => {
          await new Kvm(c).create("ants_probe", { replicas: 3 })
          return true
        },
        { timeoutMs: 30_000, intervalMs: 250, message: "JetStream R3 is ready" },
      )
      n = await startNode({ agents: [worker], nats: cluster.urls, replicas: 3, logger: () => {} })
      const jsm = await jetstreamManager(c)
      expect((await jsm.streams.info(TASKS_STREAM)).config.num_replicas).toBe(3)
      expect((await jsm.streams.info(`KV_${TASK_STATUS_BUCKET}`)).config.num_replicas).toBe(3)
      const r = await submitTask(c, { capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 1 } })
      await waitUntil(async () => (await getTaskStatus(c, r.id))?.state === "completed", { timeoutMs: 15_000 })
    } finally {
      await n?.drain()
      await c.close()
      await cluster.stop()
    }
  }, 60_000)
})
