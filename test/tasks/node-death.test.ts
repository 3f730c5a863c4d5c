/**
 * A node killed with -9 while it runs durable tasks: survivors hand its tasks back for
 * redelivery as soon as membership takes it for dead, not when their 5-minute claims run out;
 * each task is then recorded once. A dies moments after taking the tasks, often before its next
 * heartbeat: its entry must say which tasks it holds as soon as it takes them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { worker } from "../../actors/examples/index.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import type { TaskRecord } from "../../subjects/tasks.ts"
import { nodeProcesses, type NodeProcesses } from "../cluster/fixtures/node-processes.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let nc: NatsConnection
let procs: NodeProcesses
let b: AntsNode | undefined

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
  procs = nodeProcesses(() => server.url, "1")
})

afterAll(async () => {
  await procs?.stopAll()
  await b?.drain()
  await nc?.close()
  await server?.stop()
})

describe("tasks of a dead node", () => {
  it("task recovery - a node killed mid-task has its tasks run elsewhere at once, each recorded once", async () => {
    const a = await procs.start("task-a")
    b = undefined
    // node A takes every task: B starts only once they are all claimed there (tasks of 15 s, so
    // A still runs them all when B is up, even on a loaded machine)
    const { startTaskEngine } = await import("../../runtime/tasks/engine.ts")
    const engine = await startTaskEngine(nc)
    const ids: string[] = []
    for (let i = 0; i < 6; i++) ids.push((await engine.submit({ capability: "example.work", payload: { ms: 15_000 }, idempotencyKey: `death-${i}` })).id)
    const onA = await waitUntil(async () => {
      const rs = await Promise.all(ids.map((id) => engine.getStatus(id)))
      return rs.every((r) => r?.state === "claimed" && r.attempts === 1) ? (rs as TaskRecord[]) : undefined
    }, { timeoutMs: 30_000, message: "node A runs all six tasks" })
    const claimantA = onA[0].claimedBy
    b = await startNode({ agents: [worker], nats: server.url, nodeId: "task-b", logger: () => {} })
    await waitUntil(() => b!.cluster.members().includes("task-a"))
    const killedAt = Date.now()
    a.kill("SIGKILL")
    // the claims last 5 minutes: within 20 s they can only have moved because A's were handed back
    const moved = await waitUntil(async () => {
      const rs = await Promise.all(ids.map((id) => engine.getStatus(id)))
      return rs.every((r) => r !== null && r.attempts >= 2 && r.claimedBy !== claimantA) ? rs : undefined
    }, { timeoutMs: 20_000, intervalMs: 50, message: "every task of the dead node runs elsewhere" })
    console.log(JSON.stringify({ tasksRunElsewhereMs: Date.now() - killedAt }))
    expect(moved.length).toBe(6)
    const done = await waitUntil(async () => {
      const rs = await Promise.all(ids.map((id) => engine.getStatus(id)))
      return rs.every((r) => r?.state === "completed") ? (rs as TaskRecord[]) : undefined
    }, { timeoutMs: 60_000 })
    for (const r of done) expect(r.claimedBy).not.toBe(claimantA)
    await engine.stop()
  })
})
