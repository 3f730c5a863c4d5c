/**
 * Quotas per tenant, configured at start (node options) and at run time (`ants tenant quota`):
 * maximum actors, messages per second, bytes of actor state and task backlog, each answered with
 * a clear `quota_exceeded` and counted per tenant in the node's stats. Other tenants go on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { counter } from "../../actors/examples/index.ts"
import { main } from "../../runtime/cli/main.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { Kvm } from "@nats-io/kv"
import { agentSubject } from "../../subjects/grammar.ts"
import { STATE_BUCKET, stateKey } from "../../subjects/kv.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let nc: NatsConnection
let node: AntsNode
const enc = new TextEncoder()
const dec = new TextDecoder()
const ask = async (tenant: string, id: string, tag: string, body: unknown) =>
  JSON.parse(dec.decode((await nc.request(agentSubject({ tenant, type: "counter", id, tag }), enc.encode(JSON.stringify(body)), { timeout: 10_000 })).data))
const cli = async (...argv: string[]) => main([...argv, "--nats", server.url], { out: () => {}, err: () => {} })

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
  node = await startNode({
    agents: [counter],
    nats: server.url,
    logger: () => {},
    quotas: { tenants: { acme: { maxActors: 2 }, default: { taskBacklog: 2 } } },
  })
})

afterAll(async () => {
  await node?.drain()
  await nc?.close()
  await server?.stop()
})

describe("quotas", () => {
  it("quotas - a tenant at its maximum of actors gets quota_exceeded for a new one; its active ones and other tenants go on", async () => {
    expect((await ask("acme", "c1", "Add", { n: 1 })).ok).toBe(true)
    expect((await ask("acme", "c2", "Add", { n: 1 })).ok).toBe(true)
    const r = await ask("acme", "c3", "Add", { n: 1 })
    expect(r).toMatchObject({ ok: false, error: { code: "quota_exceeded" } })
    expect(r.error.message).toContain('tenant "acme" has 2 active actors on this node, its quota is 2')
    expect(await ask("acme", "c1", "Add", { n: 1 })).toEqual({ ok: true, value: { total: 2 } })
    expect((await ask("globex", "c3", "Add", { n: 1 })).ok).toBe(true)
    expect(node.stats().quotaRefusals.acme).toEqual({ maxActors: 1 })
  })

  it("quotas - messages per second, set at run time with ants tenant quota, refuses the excess clearly", async () => {
    expect(await cli("tenant", "quota", "globex", "--messages-per-second", "5")).toBe(0)
    const refused = await waitUntil(async () => {
      const replies = await Promise.all(Array.from({ length: 20 }, () => ask("globex", "c3", "Get", {})))
      return replies.find((x) => x.ok === false)
    }, { message: "a globex message refused for its rate" })
    expect(refused.error.code).toBe("quota_exceeded")
    expect(refused.error.message).toContain('tenant "globex" is over its quota of 5 messages per second on this node')
    expect(node.stats().quotaRefusals.globex?.messagesPerSecond).toBeGreaterThan(0)
    expect(await cli("tenant", "quota", "globex", "--messages-per-second", "100000")).toBe(0)
  })

  it("quotas - a tenant whose actors hold more state than its kvBytes quota activates no new actor", async () => {
    expect(await cli("tenant", "quota", "initech", "--kv-bytes", "10")).toBe(0)
    await waitUntil(async () => (await ask("initech", "big", "Add", { n: 123456 })).ok, { message: "the first actor of initech" })
    // its checkpoint is over the quota of 10 bytes; the figure is the server's, read in the
    // background, so a new actor is refused once the checkpoint is stored and read (fresh ids:
    // one admitted meanwhile is active, and an active actor is not checked again)
    let i = 0
    const r = await waitUntil(async () => {
      const x = await ask("initech", `second${i++}`, "Get", {})
      return x.error?.code === "quota_exceeded" ? x : undefined
    }, { message: "a new actor refused" })
    expect(r.error.message).toMatch(/tenant "initech" holds \d+ bytes of actor state \(every node's checkpoints\), its quota is 10/)
    expect((await ask("initech", "big", "Get", {})).ok).toBe(true)
  })

  it("quotas - kvBytes counts the tenant's state wherever it was checkpointed, not only by this node's actors", async () => {
    // state another node checkpointed: written straight to the bucket
    const kv = await new Kvm(nc).open(STATE_BUCKET)
    await kv.put(stateKey({ tenant: "umbrella", type: "counter", id: "elsewhere" }), JSON.stringify({ v: 1, state: { total: 1 }, pad: "x".repeat(600) }))
    expect(await cli("tenant", "quota", "umbrella", "--kv-bytes", "500")).toBe(0)
    let i = 0
    const r = await waitUntil(async () => {
      const x = await ask("umbrella", `here${i++}`, "Get", {})
      return x.error?.code === "quota_exceeded" ? x : undefined
    }, { message: "a new actor of umbrella refused" })
    const held = Number(/holds (\d+) bytes/.exec(r.error.message)?.[1])
    expect(held).toBeGreaterThan(600)
    expect(node.stats().quotaRefusals.umbrella?.kvBytes).toBeGreaterThan(0)
  })

  it("quotas - a submission beyond the task backlog quota is refused and nothing is stored", async () => {
    const engine = node.tasks!
    await engine.submit({ capability: "nobody.serves", payload: 1 })
    await engine.submit({ capability: "nobody.serves", payload: 2 })
    await expect(engine.submit({ capability: "nobody.serves", payload: 3 })).rejects.toMatchObject({
      _tag: "TaskEngineError",
      code: "quota_exceeded",
      message: expect.stringContaining('tenant "default" has 2 tasks waiting, its quota is 2'),
    })
    expect(node.stats().quotaRefusals.default).toEqual({ taskBacklog: 1 })
  })

  it("quotas - ants task submit applies the tenant's task backlog quota set with ants tenant quota", async () => {
    expect(await cli("tenant", "quota", "hooli", "--task-backlog", "1")).toBe(0)
    expect(await cli("task", "submit", "nobody.serves", "1", "--tenant", "hooli")).toBe(0)
    const errs: string[] = []
    expect(await main(["task", "submit", "nobody.serves", "2", "--tenant", "hooli", "--nats", server.url], { out: () => {}, err: (s: string) => errs.push(s) })).not.toBe(0)
    expect(errs.join("\n")).toContain('tenant "hooli" has 1 tasks waiting, its quota is 1')
  })
})
