/**
 * The tamper-evident audit against a real nats-server: two writers (two nodes' keys) append to
 * one tenant's stream at once and the chain holds; a node records its actors' pheromone writes
 * and lifecycle transitions (not the flips to idle and back); `ants audit verify` names the
 * first forged, removed and reordered position.
 */
import { generateKeyPairSync, sign } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { defineAgent } from "../../runtime/agent/mod.ts"
import { main } from "../../runtime/cli/main.ts"
import { auditHead, readAuditStream, readKeys, receiptHash, startGovernance, verifyChain, viewReceipts, type Governance } from "../../runtime/governance/mod.ts"
import { startNode } from "../../runtime/node/node.ts"
import { submitTask } from "../../runtime/tasks/submit.ts"
import { auditSubject } from "../../subjects/grammar.ts"
import { AUDIT_KEYS_BUCKET, auditStreamName, auditStreamSubjects } from "../../subjects/governance.ts"
import { natsPerFile, rawConnect } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const broker = natsPerFile()
const dir = mkdtempSync(join(tmpdir(), "ants-audit-"))
const govs: Governance[] = []
const gov = async (node: string) => {
  const g = await startGovernance(broker.nc, { nodeId: node, keyFile: join(dir, `${node}.pem`), lifecycle: false })
  govs.push(g)
  return g
}
afterAll(async () => {
  for (const g of govs) await g.close().catch(() => undefined)
})

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = ""
  const code = await main([...argv, "--nats", broker.server.url], { out: (s) => void (out += s + "\n"), err: (s) => void (out += s + "\n") })
  return { code, out }
}

/** A tenant stream made without delete protection (as someone with file access to the store could), then filled through the audit API. */
async function tamperable(tenant: string, n: number, g: Governance) {
  const jsm = await jetstreamManager(broker.nc)
  await jsm.streams.add({ name: auditStreamName(tenant), subjects: auditStreamSubjects(tenant), retention: RetentionPolicy.Limits, storage: StorageType.File })
  for (let i = 1; i <= n; i++) await g.record(tenant, "test", { i })
  return jsm
}

describe("audit", () => {
  it("audit - two nodes appending concurrently keep one chain that verifies", async () => {
    const [a, b] = [await gov("node-a"), await gov("node-b")]
    const writes: Promise<void>[] = []
    for (let i = 0; i < 150; i++) {
      writes.push(a.record("acme", "assignment", { task: `a${i}` }))
      writes.push(b.record("acme", "assignment", { task: `b${i}` }))
    }
    for (let i = 0; i < 100; i++) a.audit.note("acme", "pheromone", { i })
    await Promise.all(writes)
    await a.audit.flush()
    const { messages } = await readAuditStream(broker.nc, "acme")
    expect(messages.length).toBe(400)
    const keys = await readKeys(await new Kvm(broker.nc).open(AUDIT_KEYS_BUCKET))
    expect(keys.has(a.key.keyId) && keys.has(b.key.keyId)).toBe(true)
    expect(verifyChain(messages, keys)).toEqual({ ok: true, checked: 400, startsAt: 1, lastSeq: 400 })
    const nodes = new Set(viewReceipts(messages).map((r) => ("node" in r ? r.node : "?")))
    expect(nodes).toEqual(new Set(["node-a", "node-b"]))
    expect((await cli(["audit", "verify", "--tenant", "acme"])).code).toBe(0)
    const tail = await cli(["audit", "tail", "--tenant", "acme", "--last", "3", "--json"])
    expect(JSON.parse(tail.out).map((r: { seq: number }) => r.seq)).toEqual([398, 399, 400])
  })

  // A batch goes out pipelined, each receipt expecting the stream's last sequence to be the one
  // before it. When another writer's receipt took the first one's place, the first was refused,
  // yet the second found the sequence it expected and was stored, linked to a receipt that never
  // was: a chain broken for good. Each receipt after the first of a batch now also expects the
  // stream's last message to be its predecessor (by message id).
  it("audit - four nodes noting receipts in bursts at once keep one chain that verifies", async () => {
    const writers = [await gov("node-w1"), await gov("node-w2"), await gov("node-w3"), await gov("node-w4")]
    const perWriter = 250
    for (let burst = 0; burst < 10; burst++) {
      for (const [w, g] of writers.entries()) for (let i = 0; i < perWriter / 10; i++) g.audit.note("hooli", "pheromone", { w, burst, i })
      await new Promise((r) => setTimeout(r, 3))
    }
    for (const g of writers) await g.audit.flush()
    const { messages } = await readAuditStream(broker.nc, "hooli")
    expect(messages.length).toBe(writers.length * perWriter)
    const keys = await readKeys(await new Kvm(broker.nc).open(AUDIT_KEYS_BUCKET))
    expect(verifyChain(messages, keys)).toEqual({ ok: true, checked: messages.length, startsAt: 1, lastSeq: messages.length })
  })

  it("audit - a bad kind is refused and nothing is written", async () => {
    const g = await gov("node-c")
    await expect(g.record("acme", "no.dots", {})).rejects.toMatchObject({ _tag: "GovernanceError", code: "invalid" })
  })

  it("audit - a node records its actors' pheromone writes and lifecycle transitions", async () => {
    const dropper = defineAgent({
      type: "dropper",
      protocol: { Drop: { message: Schema.Struct({ at: Schema.String }), reply: Schema.Struct({ key: Schema.String }) } },
      initialState: () => ({}),
      handlers: { Drop: async ({ at }, ctx) => ({ key: (await ctx.pheromones.deposit({ type: "success", location: at })).key }) },
    })
    const node = await startNode({ agents: [dropper], nats: broker.server.url, memory: false, models: false, governance: { keyFile: join(dir, "node.pem") } })
    try {
      const nc = await rawConnect(broker.server.url)
      const ref = node.client.ref(dropper, "d1", "globex")
      const { key } = await ref.ask("Drop", { at: "finance.recon" })
      await waitUntil(async () => {
        const kinds = viewReceipts((await readAuditStream(nc, "globex").catch(() => ({ messages: [] }))).messages).map((r) => ("kind" in r ? `${r.kind}:${JSON.stringify(r.detail)}` : ""))
        return kinds.some((k) => k.startsWith("pheromone:") && k.includes(key)) && kinds.some((k) => k.startsWith("lifecycle:") && k.includes("dropper/d1"))
      }, { timeoutMs: 20_000, message: "the deposit and the activation recorded in globex's audit" })
      expect((await cli(["audit", "verify", "--tenant", "globex"])).code).toBe(0)
      await nc.close()
    } finally {
      await node.drain()
    }
  })

  it("audit - an actor's flip to idle is no receipt; its passivation after it is one", async () => {
    const napper = defineAgent({
      type: "napper",
      protocol: { Ping: { message: Schema.Struct({}), reply: Schema.Struct({ ok: Schema.Boolean }) } },
      initialState: () => ({}),
      passivateAfterMs: 200,
      handlers: { Ping: () => ({ ok: true }) },
    })
    const node = await startNode({ agents: [napper], nats: broker.server.url, memory: false, models: false, governance: { keyFile: join(dir, "node.pem") } })
    try {
      const nc = await rawConnect(broker.server.url)
      await node.client.ref(napper, "n1", "umbrella").ask("Ping", {})
      // lifecycle messages of one actor reach the audit in order: active>idle always comes before idle>sleeping
      let flips: Array<{ from?: string; to?: string }> = []
      await waitUntil(async () => {
        const all = viewReceipts((await readAuditStream(nc, "umbrella").catch(() => ({ messages: [] }))).messages)
        flips = all.flatMap((r) => ("kind" in r && r.kind === "lifecycle" ? [r.detail as { from?: string; to?: string }] : []))
        return flips.some((d) => d.to === "sleeping")
      }, { timeoutMs: 20_000, message: "the passivation recorded in umbrella's audit" })
      expect(flips.map((d) => `${d.from}>${d.to}`)).toEqual(["cold>warming", "warming>active", "idle>sleeping"])
      await nc.close()
    } finally {
      await node.drain()
    }
  })

  it("audit - a marketplace assignment (who won, and why), a policy set from the CLI and a tenancy change are signed receipts of the tenant's chain", async () => {
    const worker = defineAgent({
      type: "auditor",
      protocol: {},
      handlers: {},
      capabilities: { "books.check": { marketplace: true, tenants: ["initech"], handle: async () => ({ checked: true }) } },
    })
    const node = await startNode({ agents: [worker], nats: broker.server.url, memory: false, models: false, governance: { keyFile: join(dir, "node.pem") }, tasks: { marketplace: { bidWindowMs: 20 } } })
    try {
      const { id } = await submitTask(broker.nc, { capability: "books.check", payload: {} }, { tenant: "initech" })
      expect((await cli(["policy", "set", "--tenant", "initech", "--by", "ops", "--rules", '[{"effect":"deny","tool":"wire"}]'])).code).toBe(0)
      expect((await cli(["tenant", "suspend", "initech", "--reason", "invoice unpaid"])).code).toBe(0)
      expect((await cli(["tenant", "resume", "initech"])).code).toBe(0)
      let receipts: ReturnType<typeof viewReceipts> = []
      const of = (kind: string) => receipts.filter((r) => "kind" in r && r.kind === kind).map((r) => ("detail" in r ? (r.detail as Record<string, unknown>) : {}))
      await waitUntil(async () => {
        receipts = viewReceipts((await readAuditStream(broker.nc, "initech").catch(() => ({ messages: [] }))).messages)
        return of("assignment").length > 0 && of("policy_change").length > 0 && of("tenancy").length >= 2
      }, { timeoutMs: 30_000, message: "the assignment, the policy change and the tenancy changes recorded in initech's audit" })
      expect(of("assignment")[0]).toMatchObject({ task: id, capability: "books.check", attempt: 1, agent: `auditor@${node.id}`, why: { capabilityMatch: 1 } })
      expect((of("assignment")[0]!.why as { score: number }).score).toBeGreaterThan(0)
      expect(of("policy_change")[0]).toMatchObject({ tenant: "initech", by: "ops", rules: [{ effect: "deny", tool: "wire" }], before: [] })
      expect(of("tenancy").map((d) => d.action)).toEqual(["suspend", "resume"])
      // every one of them signed by the node: the chain verifies (an unsigned notice would be called forged)
      const verified = await cli(["audit", "verify", "--tenant", "initech", "--json"])
      expect(verified.code, verified.out).toBe(0)
    } finally {
      await node.drain()
    }
  })

  it("audit verify - names the first removed position", async () => {
    const g = await gov("node-r")
    const jsm = await tamperable("t-removed", 6, g)
    await jsm.streams.deleteMessage(auditStreamName("t-removed"), 4)
    const r = await cli(["audit", "verify", "--tenant", "t-removed", "--json"])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, checked: 3, firstBad: { position: 4, problem: "removed" } })
  })

  it("audit verify - names a forged receipt: a changed body under an old signature, and a key no node published", async () => {
    const g = await gov("node-f")
    await tamperable("t-forged", 5, g)
    const { messages } = await readAuditStream(broker.nc, "t-forged")
    const head = await auditHead(await jetstreamManager(broker.nc), "t-forged")
    // receipt 3's signature on a body claiming position 6 and linked correctly
    const old = JSON.parse(new TextDecoder().decode(messages[2]!.data)) as { body: string; sig: string }
    const body = { ...JSON.parse(old.body), n: 6, prev: head.hash, detail: { i: 999 } }
    await broker.nc.request(auditSubject("t-forged", "test"), JSON.stringify({ body: JSON.stringify(body), sig: old.sig }))
    let r = await cli(["audit", "verify", "--tenant", "t-forged", "--json"])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, checked: 5, firstBad: { position: 6, problem: "forged" } })
    expect(JSON.parse(r.out).firstBad.reason).toMatch(/signature does not match/)

    // a well-formed receipt signed with a key of the forger's own
    const { privateKey } = generateKeyPairSync("ed25519")
    const fake = { ...JSON.parse(old.body), key: "f0f0f0f0f0f0f0f0" }
    const text = JSON.stringify(fake)
    const forged = messages.map((m, i) => (i === 1 ? { ...m, data: new TextEncoder().encode(JSON.stringify({ body: text, sig: sign(null, Buffer.from(text), privateKey).toString("base64") })) } : m))
    const keys = await readKeys(await new Kvm(broker.nc).open(AUDIT_KEYS_BUCKET))
    expect(verifyChain(forged, keys)).toMatchObject({ ok: false, checked: 1, firstBad: { position: 2, problem: "forged" } })
  })

  it("audit verify - names the first reordered position", async () => {
    const g = await gov("node-o")
    const jsm = await tamperable("t-reordered", 5, g)
    const { messages } = await readAuditStream(broker.nc, "t-reordered")
    const keys = await readKeys(await new Kvm(broker.nc).open(AUDIT_KEYS_BUCKET))
    // two receipts swapped in place (a rewritten store file)
    const swapped = messages.map((m, i) => (i === 2 ? { ...m, data: messages[3]!.data } : i === 3 ? { ...m, data: messages[2]!.data } : m))
    expect(verifyChain(swapped, keys)).toMatchObject({ ok: false, checked: 2, firstBad: { position: 3, problem: "reordered" } })
    // in the live stream: receipt 2 taken out and put back at the end; the gap is found first
    const second = messages[1]!
    await jsm.streams.deleteMessage(auditStreamName("t-reordered"), 2)
    await broker.nc.request(second.subject, second.data)
    const again = (await readAuditStream(broker.nc, "t-reordered")).messages
    expect(verifyChain(again, keys)).toMatchObject({ ok: false, firstBad: { position: 2, problem: "removed" } })
    // only the moved one, after the others: stored at 6, written as 2
    const tailOnly = again.filter((m) => m.seq >= 5)
    expect(verifyChain(tailOnly, keys)).toMatchObject({ ok: false, checked: 1, firstBad: { position: 6, problem: "reordered" } })
    expect(receiptHash(second.data)).toBe(receiptHash(again.at(-1)!.data))
  })
})
