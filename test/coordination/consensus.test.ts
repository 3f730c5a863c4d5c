import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createWorkspace, type Workspace } from "../../runtime/stigmergy/mod.ts"
import { escalateToApprovals, getConsensusRound, runConsensus, tally, type EscalationRequest, type VoteRecord } from "../../runtime/coordination/mod.ts"
import { coordinationNode } from "./fixtures/node.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { readAuditStream, verifyAudit, viewReceipts } from "../../runtime/governance/mod.ts"
import { judge, moderator } from "./fixtures/agents.ts"

const fx = coordinationNode()
const nats = fx.nats
let ws: Workspace
const receipts: Array<{ tenant: string; kind: string; detail: Record<string, unknown> }> = []
const escalations: EscalationRequest[] = []
const record = async (tenant: string, kind: string, detail: Record<string, unknown>) => void receipts.push({ tenant, kind, detail })
const escalate = async (request: EscalationRequest) => {
  escalations.push(request)
  return { approval: `a-${escalations.length}` }
}

beforeAll(() => {
  ws = createWorkspace(nats.nc, { actor: "test/coordinator" })
})
afterAll(async () => {
  await ws?.close()
})

const ofRound = (round: string) => receipts.filter((r) => r.detail.round === round)

describe("agreement", () => {
  it("agreement - three of four agreeing score 0.75; the matrix is symmetric with a unit diagonal", () => {
    const t = tally([
      { voter: "a", answer: "Reject" },
      { voter: "b", answer: " reject" },
      { voter: "c", answer: "approve" },
      { voter: "d", answer: "reject" },
    ])!
    expect(t.answer).toBe("Reject")
    expect(t.score).toBe(0.75)
    expect(t.matrix).toEqual([
      [1, 1, 0, 1],
      [1, 1, 0, 1],
      [0, 0, 1, 0],
      [1, 1, 0, 1],
    ])
  })

  it("agreement - confidence weighs votes, and a graded agreement counts partly", () => {
    const t = tally([
      { voter: "a", answer: "x", confidence: 0.9 },
      { voter: "b", answer: "y", confidence: 0.3 },
    ])!
    expect(t.answer).toBe("x")
    expect(t.score).toBeCloseTo(0.75)
    const near = (a: unknown, b: unknown) => Math.max(0, 1 - Math.abs((a as number) - (b as number)) / 10)
    const g = tally([{ voter: "a", answer: 10 }, { voter: "b", answer: 12 }, { voter: "c", answer: 30 }], near)!
    expect(g.matrix[0]![1]).toBeCloseTo(0.8)
    expect(g.answer).toBe(10)
    expect(g.score).toBeCloseTo(1.8 / 3)
  })
})

describe("consensus", () => {
  it("consensus - above the threshold it decides, and every vote and the decision are recorded", async () => {
    const r = await runConsensus(
      { messaging: fx.node.client, workspace: ws, record, escalate },
      { round: "r-above", question: "approve the transfer?", options: ["approve", "reject"], context: { amount: 8000 }, voters: { agent: judge, ids: ["strict-1", "strict-2", "strict-3", "lenient-1"] } },
    )
    expect(r.status).toBe("decided")
    expect(r.answer).toBe("reject")
    expect(r.score).toBe(1)
    expect(r.counts).toEqual({ asked: 4, valid: 4, missing: 0, errors: 0, invalid: 0 })
    expect(escalations.some((e) => e.artifact === "consensus.r-above")).toBe(false)
    // receipts: one per vote and one decision
    expect(ofRound("r-above").filter((x) => x.kind === "consensus_vote").map((x) => x.detail.voter).sort()).toEqual(["judge/lenient-1", "judge/strict-1", "judge/strict-2", "judge/strict-3"])
    expect(ofRound("r-above").filter((x) => x.kind === "consensus_decision")).toHaveLength(1)
    // the round is kept and inspectable afterwards
    const stored = await getConsensusRound(ws, "r-above")
    expect(stored?.status).toBe("decided")
    expect((stored?.votes as VoteRecord[]).every((v) => v.outcome === "vote" && v.rationale)).toBe(true)
    expect(stored?.matrix).toEqual(r.matrix)
  })

  it("consensus - with the node's audit as the record port, the votes and the decision are receipts of the tenant's verified chain", async () => {
    const r = await runConsensus(
      { messaging: fx.node.client, workspace: createWorkspace(nats.nc, { tenant: "audited", actor: "test/coordinator" }), record: fx.node.governance!.record },
      { round: "r-audit", question: "approve the transfer?", context: { amount: 8000 }, voters: { agent: judge, ids: ["strict-1", "strict-2", "lenient-1"], tenant: "audited" } },
    )
    expect(r).toMatchObject({ status: "decided", recordFailures: 0 })
    const receipts = viewReceipts((await readAuditStream(nats.nc, "audited")).messages).flatMap((v) => ("kind" in v ? [v] : []))
    const ofRound = receipts.filter((v) => (v.detail as { round?: string }).round === "r-audit")
    expect(ofRound.filter((v) => v.kind === "consensus_vote").map((v) => (v.detail as { voter: string }).voter).sort()).toEqual(["judge/lenient-1", "judge/strict-1", "judge/strict-2"])
    expect(ofRound.filter((v) => v.kind === "consensus_decision").map((v) => (v.detail as { status: string; answer: string }).answer)).toEqual(["reject"])
    expect((await verifyAudit(nats.nc, "audited")).ok).toBe(true)
  })

  it("consensus - below the threshold it escalates through the port, with the votes and a summary", async () => {
    const r = await runConsensus(
      { messaging: fx.node.client, workspace: ws, record, escalate },
      { round: "r-split", question: "approve the transfer?", options: ["approve", "reject"], context: { amount: 3000 }, voters: { agent: judge, ids: ["strict-1", "strict-2", "lenient-1", "lenient-2"] }, severity: 0.8 },
    )
    expect(r.status).toBe("escalated")
    expect(r.reason).toBe("below_threshold")
    expect(r.score).toBe(0.5)
    const esc = escalations.find((e) => e.artifact === "consensus.r-split")!
    expect(esc).toMatchObject({ tenant: "default", subject: "consensus", reason: "below_threshold", severity: 0.8 })
    expect(esc.summary).toContain("score 0.50")
    expect(r.escalation).toEqual({ approval: `a-${escalations.indexOf(esc) + 1}` })
    expect((await getConsensusRound(ws, "r-split"))?.status).toBe("escalated")
    expect(ofRound("r-split").filter((x) => x.kind === "consensus_vote")).toHaveLength(4)
  })

  it("consensus - escalated to the node's approval queue: one pending request, ordered by severity, that a human decides", async () => {
    const approvals = fx.node.governance!.approvals
    const escalateHuman = escalateToApprovals(approvals, { timeoutMs: 60_000 })
    const r = await runConsensus(
      { messaging: fx.node.client, workspace: ws, escalate: escalateHuman },
      { round: "r-human", question: "approve the transfer?", options: ["approve", "reject"], context: { amount: 3000 }, voters: { agent: judge, ids: ["strict-1", "lenient-1"] }, severity: 0.8 },
    )
    expect(r).toMatchObject({ status: "escalated", reason: "below_threshold", escalation: { approval: "coordination-consensus-r-human", created: true } })
    const filed = await approvals.get("default", "coordination-consensus-r-human")
    expect(filed).toMatchObject({ status: "pending", severity: "high", safeDefault: "reject", mode: "human_approval", requester: "coordination", action: { kind: "consensus", name: "approve the transfer?" } })
    expect(filed!.why).toContain("consensus is below its threshold")
    expect(filed!.context).toContain("score 0.50")
    const decided = await approvals.decide("default", "coordination-consensus-r-human", { decision: "approve", by: "alice" })
    expect(decided.status).toBe("approved")
  })

  it("consensus - failing and late voters are counted, never fatal; a late vote is recorded afterwards, not counted", async () => {
    const r = await runConsensus(
      { messaging: fx.node.client, workspace: ws, record },
      { round: "r-late", question: "approve the transfer?", context: { amount: 8000 }, voters: { agent: "judge", ids: ["strict-1", "strict-2", "strict-3", "slow-1", "broken-1"] }, deadlineMs: 800, lateGraceMs: 5000 },
    )
    expect(r.counts).toEqual({ asked: 5, valid: 3, missing: 1, errors: 1, invalid: 0 })
    expect(r.status).toBe("decided")
    expect(r.votes.find((v) => v.voter === "judge/broken-1")?.error).toContain("out of order")
    const late = await waitUntil(async () => ((await getConsensusRound(ws, "r-late"))?.votes as VoteRecord[]).find((v) => v.voter === "judge/slow-1" && v.outcome === "late"), { timeoutMs: 15_000, message: "the late vote recorded" })
    expect(late.answer).toBe("reject")
    expect(((await getConsensusRound(ws, "r-late"))?.counts as { valid: number }).valid).toBe(3)
  })

  it("consensus - too few votes is no quorum, and escalates", async () => {
    const r = await runConsensus(
      { messaging: fx.node.client, workspace: ws, escalate },
      { round: "r-quorum", question: "approve?", context: { amount: 10 }, voters: { agent: "judge", ids: ["strict-1", "broken-1", "broken-2"] }, deadlineMs: 3000 },
    )
    expect(r).toMatchObject({ status: "escalated", reason: "no_quorum", score: 1 })
    expect(escalations.some((e) => e.artifact === "consensus.r-quorum" && e.reason === "no_quorum")).toBe(true)
  })

  it("consensus - an actor runs a round from its handler, its context being the deps", async () => {
    const reply = await fx.node.client.ref(moderator, "m1").ask("Decide", { round: "r-actor", amount: 500, judges: ["strict-1", "lenient-1", "strict-2"] }, { timeoutMs: 20_000 })
    expect(reply).toEqual({ status: "decided", answer: "approve", score: 1 })
    const stored = await getConsensusRound(ws, "r-actor")
    expect(stored?.asked).toEqual(["judge/strict-1", "judge/lenient-1", "judge/strict-2"])
  })

  it("consensus - ballots put to a capability are answered as durable tasks by its workers", async () => {
    const r = await runConsensus({ messaging: fx.node.client, workspace: ws, tasks: fx.node.tasks }, { round: "r-cap", question: "approve?", context: { amount: 2000 }, voters: { capability: "review.vote", count: 3 }, deadlineMs: 15_000 })
    expect(r).toMatchObject({ status: "decided", answer: "reject" })
    expect(r.counts.valid).toBe(3)
  })

  it("consensus - any NATS client runs a round through the consensus agent, once; Get reads it back", async () => {
    const enc = new TextEncoder()
    const request = async (round: string, tag: string, body: unknown) =>
      JSON.parse(new TextDecoder().decode((await nats.nc.request(agentSubject({ tenant: "default", type: "consensus", id: round, tag }), enc.encode(JSON.stringify(body)), { timeout: 20_000 })).data))
    const run = { question: "approve the transfer?", options: ["approve", "reject"], context: { amount: 8000 }, voters: { agent: "judge", ids: ["strict-1", "strict-2", "lenient-1"] }, deadlineMs: 5000 }
    const first = await request("r-wire", "Run", run)
    expect(first.ok).toBe(true)
    expect(first.value).toMatchObject({ round: "r-wire", artifact: "consensus.r-wire", status: "decided", answer: "reject", score: 1, counts: { asked: 3, valid: 3 } })
    expect(first.value.matrix).toEqual([[1, 1, 1], [1, 1, 1], [1, 1, 1]])
    // a round runs once: asking again (even with other voters) answers the stored outcome
    const again = await request("r-wire", "Run", { ...run, voters: { agent: "judge", ids: ["lenient-1"] } })
    expect(again.value).toEqual(first.value)
    expect((await request("r-wire", "Get", {})).value).toEqual(first.value)
    expect((await request("r-none", "Get", {})).value).toBeNull()
    // a bad Run is refused by the protocol's Schema before the actor sees it
    expect(await request("r-bad", "Run", { question: 42 })).toMatchObject({ ok: false, error: { code: "invalid_message" } })
  })

  it("consensus - bad input is refused before anything is asked or stored", async () => {
    const deps = { messaging: fx.node.client, workspace: ws }
    await expect(runConsensus(deps, { question: "q", voters: { agent: "judge", ids: ["strict-1"] }, threshold: 2 })).rejects.toMatchObject({ _tag: "CoordinationError", code: "invalid_input" })
    await expect(runConsensus(deps, { question: "", voters: { agent: "judge", ids: ["strict-1"] } })).rejects.toMatchObject({ code: "invalid_input" })
    await expect(runConsensus(deps, { question: "q", voters: [] })).rejects.toMatchObject({ code: "invalid_input" })
    await expect(runConsensus(deps, { question: "q", voters: { capability: "review.vote", count: 2 } })).rejects.toMatchObject({ code: "invalid_input" })
    await expect(runConsensus(deps, { round: "bad.round", question: "q", voters: { agent: "judge", ids: ["strict-1"] } })).rejects.toMatchObject({ code: "invalid_input" })
    await expect(runConsensus(deps, { round: "r-above", question: "q", voters: { agent: "judge", ids: ["strict-1"] } })).rejects.toMatchObject({ code: "duplicate" })
    expect(await getConsensusRound(ws, "bad")).toBeUndefined()
  })
})
