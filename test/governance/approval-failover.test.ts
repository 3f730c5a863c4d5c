/**
 * A pending approval survives kill -9 of the node holding the turn: an `ants node` process (the
 * example agents, a models file naming a fake Chat Completions server) runs the assistant's
 * turn up to its `transfer` call, held for approval; the node is killed; a new node starts; a
 * human approves through it; the decision wakes the actor on the new node, whose turn resumes
 * from the journal: the model's first step is not repeated and the transfer runs exactly once.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { FakeServer } from "../../bench/fakes/fake-model-server.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import { main } from "../../runtime/cli/main.ts"
import type { ApprovalRecord } from "../../runtime/governance/mod.ts"
import { decodeReply } from "../../subjects/envelope.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { EXAMPLE_AGENTS, killNine, spawnNodeProcess } from "../helpers/node-process.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const broker = natsPerFile()
let oai: FakeServer
const dir = mkdtempSync(join(tmpdir(), "ants-approval-failover-"))
const children: ChildProcess[] = []

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = ""
  const code = await main([...argv, "--nats", broker.server.url], { out: (s) => void (out += s + "\n"), err: (s) => void (out += s + "\n") })
  return { code, out }
}

async function nodeProcess(id: string): Promise<ChildProcess> {
  const p = await spawnNodeProcess(["--agents", EXAMPLE_AGENTS, "--nats", broker.server.url, "--node-id", id, "--models", join(dir, "models.json"), "--no-memory"], { cwd: dir })
  children.push(p)
  return p
}

beforeAll(async () => {
  oai = await startFakeOpenAI()
  oai.respond((req) => {
    const last = req.body.messages.at(-1)
    if (last.role === "user") return { toolCalls: [{ id: "call_t", name: "transfer", arguments: { to: "acct-kx", amount: 7 } }] }
    return { text: `transfer: ${String(last.content).slice(0, 200)}` }
  })
  writeFileSync(join(dir, "models.json"), JSON.stringify({ providers: { fake: { kind: "openai", baseURL: `${oai.url}/v1` } }, models: [{ name: "fake-model", provider: "fake", price: { input: 1, output: 2 } }] }))
})
afterAll(async () => {
  for (const p of children) await killNine(p)
  await oai?.close()
})

describe("approval failover", () => {
  it("approval failover - a pending approval survives kill -9 of its node and completes exactly once after restart", async () => {
    const first = await nodeProcess("af-a")
    const subject = agentSubject({ tenant: "default", type: "assistant", id: "af1", tag: "Chat" })
    const body = JSON.stringify({ text: "pay kx 7" })
    // the turn is held: the actor answers at once that it waits on the approval
    const held = decodeReply((await broker.nc.request(subject, body, { timeout: 60_000 })).data) as { ok: boolean; value?: { held?: string } }
    let pending: ApprovalRecord | undefined
    await waitUntil(async () => {
      const r = await cli(["approvals", "list", "--json"])
      pending = r.code === 0 ? (JSON.parse(r.out) as ApprovalRecord[]).find((x) => x.requester === "assistant/af1") : undefined
      return pending?.status === "pending"
    }, { timeoutMs: 60_000, message: "the transfer held for approval" })

    expect(held.value?.held).toBe(pending!.id)
    await killNine(first)
    await nodeProcess("af-b")
    const approved = await cli(["approvals", "approve", pending!.id, "--by", "alice", "--json"])
    expect(approved.code, approved.out).toBe(0)

    // the new node's queue tells the actor to take the held turn up; it wakes there and finishes it
    let resumed: ApprovalRecord | undefined
    await waitUntil(async () => {
      const r = await cli(["approvals", "show", pending!.id, "--json"])
      resumed = r.code === 0 ? (JSON.parse(r.out) as ApprovalRecord) : undefined
      return resumed?.resumed !== undefined
    }, { timeoutMs: 60_000, message: "the held turn taken up on the new node" })
    expect((resumed!.resumed!.reply as { text: string }).text).toContain('"total":7')
    const userCalls = oai.requests.filter((r) => r.body.messages.at(-1).role === "user").length
    expect(userCalls).toBe(1) // the model step before the held call came from the journal
    const total = decodeReply((await broker.nc.request(agentSubject({ tenant: "default", type: "counter", id: "acct-kx", tag: "Get" }), "{}", { timeout: 10_000 })).data)
    expect(total).toEqual({ ok: true, value: { total: 7 } })
    const after = (JSON.parse((await cli(["approvals", "list", "--json"])).out) as ApprovalRecord[]).filter((x) => x.requester === "assistant/af1")
    expect(after.map((x) => [x.id, x.status])).toEqual([[pending!.id, "approved"]])
  })
})
