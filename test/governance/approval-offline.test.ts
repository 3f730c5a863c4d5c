/**
 * A turn held for approval on a node whose only model is the offline provider: the reply that
 * names the pending request says `offline: true`, like every other reply of that node, and so
 * does a second `ResumeTurn` of a turn already taken up. Against a real nats-server; decided
 * through `ants approvals`.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { counter, transfer } from "../../actors/examples/index.ts"
import { defineConversationalAgent } from "../../runtime/agent/mod.ts"
import { main } from "../../runtime/cli/main.ts"
import type { ApprovalRecord } from "../../runtime/governance/mod.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const teller = defineConversationalAgent({ type: "teller", system: "You move money when asked.", tools: [transfer], maxSteps: 3 })
const broker = natsPerFile()
let node: AntsNode
const dir = mkdtempSync(join(tmpdir(), "ants-approval-offline-"))

async function cli(argv: string[]): Promise<string> {
  let out = ""
  await main([...argv, "--nats", broker.server.url], { out: (s) => void (out += s + "\n"), err: (s) => void (out += s + "\n") })
  return out
}

beforeAll(async () => {
  // no models file and no provider variables: the offline provider answers
  node = await startNode({ agents: [teller, counter], nats: broker.server.url, memory: false, models: { env: {} }, governance: { keyFile: join(dir, "node.pem") } })
})
afterAll(async () => {
  await node?.drain()
})

describe("approvals on the offline provider", () => {
  it("approvals - a held turn's reply and a repeated resume say offline: true; approved, the transfer runs once", async () => {
    const ref = node.client.ref(teller, "t1", "bank")
    const reply = await ref.ask("Chat", { text: "please call transfer with to=alice amount=5" }, { timeoutMs: 60_000 })
    expect(reply.held).toBeDefined()
    expect(reply.offline).toBe(true)
    expect(await node.client.ref(counter, "alice", "bank").ask("Get", {})).toMatchObject({ total: 0 })
    await cli(["approvals", "approve", reply.held!, "--tenant", "bank", "--by", "test"])
    let r: ApprovalRecord | undefined
    await waitUntil(async () => (r = JSON.parse(await cli(["approvals", "show", reply.held!, "--tenant", "bank", "--json"])) as ApprovalRecord).resumed !== undefined, { timeoutMs: 60_000, message: "the held turn taken up" })
    expect(r!.resumed!.error).toBeUndefined()
    expect(r!.resumed!.reply).toMatchObject({ offline: true, resumed: true })
    expect(await node.client.ref(counter, "alice", "bank").ask("Get", {})).toMatchObject({ total: 5 })
    // the same resume again: nothing runs twice, and the reply still says what answers here
    const again = await ref.ask("ResumeTurn", { turn: reply.turn }, { timeoutMs: 30_000 })
    expect(again).toMatchObject({ resumed: false, offline: true })
    expect(await node.client.ref(counter, "alice", "bank").ask("Get", {})).toMatchObject({ total: 5 })
  })
})
