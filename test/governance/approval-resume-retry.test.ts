/**
 * A held turn's resume that is not delivered (`unavailable`: no node serves the actor yet, as
 * just after its node was killed and before a new node has taken its partitions) is sent again
 * after short pauses, rather than only by the sweep once the decision is a minute old (the
 * approval failover test timed out so). Any other answer is final; a resume still undelivered
 * after every pause is left to the sweep. A real approvals store and queue on a real server.
 */
import { Kvm } from "@nats-io/kv"
import { describe, expect, it } from "vitest"
import { createApprovals, type Approvals } from "../../runtime/governance/approvals.ts"
import { serveApprovals } from "../../runtime/governance/approvals-service.ts"
import { AskError } from "../../runtime/client/messaging.ts"
import { APPROVALS_BUCKET, approvalsSubject } from "../../subjects/governance.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const broker = natsPerFile()
const enc = new TextEncoder()

async function heldRequest(approvals: Approvals, id: string) {
  await approvals.request({
    id,
    tenant: "acme",
    requester: "assistant/a1",
    action: { kind: "tool", name: "transfer", impact: "high" },
    why: ["the action is high-impact"],
    context: "",
    severity: "high",
    mode: "human_approval",
    safeDefault: "reject",
    timeoutMs: 60_000,
    resume: { tag: "ResumeTurn", message: { turn: "t0" } },
  })
}

async function approve(id: string) {
  await broker.nc.request(approvalsSubject("acme", "decide"), enc.encode(JSON.stringify({ id, by: "alice", decision: "approve" })), { timeout: 5_000 })
}

describe("a held turn's resume", () => {
  it("approval resume - sent again while it is not delivered; taken up at the third try; any other error is final; one still undelivered is left to the sweep", async () => {
    const approvals = createApprovals(await new Kvm(broker.nc).create(APPROVALS_BUCKET, { history: 5 }))
    const calls = new Map<string, number>()
    const outcomes: Record<string, (n: number) => unknown> = {
      late: (n) => {
        if (n < 3) throw new AskError("unavailable", "no runtime node serves ants.acme.agent.assistant.a1.ResumeTurn")
        return { text: "done" }
      },
      refused: () => {
        throw new AskError("invalid_message", "no such turn")
      },
      never: () => {
        throw new AskError("unavailable", "no runtime node serves it")
      },
    }
    const service = serveApprovals(broker.nc, approvals, {
      note: () => undefined,
      sweepEveryMs: 60_000,
      resumeRetryMs: [20, 20, 20],
      resumeTurn: async (r) => {
        const n = (calls.get(r.id) ?? 0) + 1
        calls.set(r.id, n)
        return outcomes[r.id]!(n)
      },
    })
    try {
      await broker.nc.flush()
      for (const id of Object.keys(outcomes)) {
        await heldRequest(approvals, id)
        await approve(id)
      }
      await waitUntil(async () => (await approvals.get("acme", "late"))?.resumed !== undefined, { timeoutMs: 5_000, message: "the late resume taken up" })
      expect((await approvals.get("acme", "late"))!.resumed!.reply).toEqual({ text: "done" })
      expect(calls.get("late")).toBe(3)
      await waitUntil(async () => (await approvals.get("acme", "refused"))?.resumed !== undefined, { timeoutMs: 5_000 })
      expect((await approvals.get("acme", "refused"))!.resumed!.error).toMatch(/no such turn/)
      expect(calls.get("refused")).toBe(1)
      // three pauses: four sends, then nothing recorded (the minute sweep sends it again)
      await waitUntil(() => calls.get("never") === 4, { timeoutMs: 5_000 })
      await new Promise((r) => setTimeout(r, 200))
      expect(calls.get("never")).toBe(4)
      expect((await approvals.get("acme", "never"))!.resumed).toBeUndefined()
    } finally {
      service.stop()
    }
  })
})
