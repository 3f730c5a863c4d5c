/**
 * A decision on an approval request is offered to the requesting agent's memory as feedback:
 * an episodic entry of that actor saying what it asked, who decided what and why, with an
 * outcome (+1 approved, -1 rejected), so the agent recalls it before asking again. Against a
 * real nats-server and the node's embedded memory (PGlite), decided through `ants approvals`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { counter } from "../../actors/examples/counter.ts"
import { main } from "../../runtime/cli/main.ts"
import type { ApprovalRecord } from "../../runtime/governance/mod.ts"
import { startNode, type AntsNode } from "../../runtime/node/mod.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { pgliteDataDir } from "../helpers/postgres.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let node: AntsNode
let data: Awaited<ReturnType<typeof pgliteDataDir>>
const dir = mkdtempSync(join(tmpdir(), "ants-approval-feedback-"))

beforeAll(async () => {
  ;[server, data] = await Promise.all([natsFixture(), pgliteDataDir()])
  node = await startNode({ agents: [counter], nats: server.url, memory: { dataDir: data.dir, sweepIntervalMs: 0, env: {} }, governance: { keyFile: join(dir, "node.pem") } })
})
afterAll(async () => {
  await node?.drain()
  await server?.stop()
  data?.remove()
})

async function cli(argv: string[]): Promise<number> {
  return await main([...argv, "--nats", server.url], { out: () => {}, err: () => {} })
}

const file = (id: string, amount: number) =>
  node.governance!.approvals.request({
    id,
    tenant: "bank",
    requester: "teller/t1",
    action: { kind: "tool", name: "transfer", arguments: { to: "mallory", amount }, impact: "high" },
    why: ["the action is high-impact"],
    context: "user: pay mallory",
    severity: "high",
    safeDefault: "reject",
    mode: "human_approval",
    timeoutMs: 60_000,
  })

async function feedbackOf(id: string) {
  let found: Awaited<ReturnType<NonNullable<AntsNode["memory"]["current"]>["recall"]>>[number] | undefined
  await waitUntil(async () => {
    const items = await node.memory.current!.recall({ tenant: "bank", type: "teller", id: "t1" }, { query: `approval ${id} transfer mallory`, kind: "episodic", filter: { approval: id }, k: 5 })
    return (found = items.find((m) => m.metadata.approval === id)) !== undefined
  }, { timeoutMs: 30_000, message: `the decision on ${id} offered to teller/t1's memory` })
  return found!
}

describe("approval feedback", () => {
  it("approval feedback - an approval and a rejection land in the requester's memory with their outcome", async () => {
    await file("fb-yes", 5)
    await file("fb-no", 500)
    await node.memory.open()
    expect(await cli(["approvals", "approve", "fb-yes", "--tenant", "bank", "--by", "alice", "--reason", "known payee"])).toBe(0)
    expect(await cli(["approvals", "reject", "fb-no", "--tenant", "bank", "--by", "bob", "--reason", "phishing"])).toBe(0)

    const yes = await feedbackOf("fb-yes")
    expect(yes.text).toContain("transfer")
    expect(yes.text).toContain("alice approved it: known payee")
    expect(yes.metadata).toMatchObject({ source: "approval", status: "approved" })
    expect(yes.successRate).toBe(1)

    const no = await feedbackOf("fb-no")
    expect(no.text).toContain("bob rejected it: phishing")
    expect(no.data).toMatchObject({ status: "rejected", decidedBy: "bob", reason: "phishing", action: { name: "transfer", arguments: { amount: 500 } } })
    expect(no.successRate).toBe(0)
    const decided = await node.governance!.approvals.get("bank", "fb-no")
    expect((decided as ApprovalRecord).status).toBe("rejected")
  })
})
