import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createPheromones, createWorkspace } from "../../runtime/stigmergy/mod.ts"
import { getIncident, kForSeverity, startCollectiveResponse, type CollectiveResponse, type Incident } from "../../runtime/coordination/mod.ts"
import { coordinationNode } from "./fixtures/node.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { defender, recruiter } from "./fixtures/agents.ts"

const fx = coordinationNode()
const nats = fx.nats
const recruiters: CollectiveResponse[] = []
const receipts: Array<{ kind: string; detail: Record<string, unknown> }> = []
const candidates = ["off-1", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"]

beforeAll(async () => {
  // two recruiters watch the same signals (as two nodes would): still one incident per signal
  for (const name of ["recruiter-a", "recruiter-b"]) {
    recruiters.push(
      await startCollectiveResponse(
        {
          messaging: fx.node.client,
          pheromones: createPheromones(nats.nc, { emitter: name }),
          workspace: createWorkspace(nats.nc, { actor: name }),
          record: async (_t, kind, detail) => void receipts.push({ kind, detail }),
        },
        { responders: { agent: defender, ids: candidates }, location: "integrations" },
      ),
    )
  }
})
afterAll(async () => {
  for (const r of recruiters) await r.stop()
})

const ws = () => createWorkspace(nats.nc, { actor: "test/observer" })

async function formedIncident(location: string, trailId: string, k: number): Promise<Incident> {
  return await waitUntil(
    async () => {
      const i = await getIncident(ws(), `${location}.${trailId}`)
      return i && i.recruited.length === k && i.findings.length >= k ? i : undefined
    },
    { timeoutMs: 20_000, message: `incident at ${location} formed with ${k} recruits and their findings` },
  )
}

describe("collective response", () => {
  it("collective response - k by severity follows the table", () => {
    expect([0.1, 0.3, 0.5, 0.69, 0.7, 0.9, 1].map((s) => kForSeverity(s))).toEqual([0, 1, 2, 2, 3, 3, 5])
  })

  it("collective response - a high and a critical danger signal recruit 3 and 5 agents, who share findings through the incident", async () => {
    const ph = createPheromones(nats.nc, { emitter: "monitor" })
    // medium: under the recruiters' minimum severity (high), no incident
    const quiet = await ph.deposit({ type: "danger", location: "integrations.mail", strength: "medium" })
    const high = await ph.deposit({ type: "danger", location: "integrations.stripe", strength: "high", data: { status: 429 } })
    const critical = await ph.deposit({ type: "danger", location: "integrations.bank", strength: "critical" })

    const h = await formedIncident("integrations.stripe", high.id, 3)
    const c = await formedIncident("integrations.bank", critical.id, 5)
    for (const [incident, k] of [[h, 3], [c, 5]] as const) {
      expect(incident.k).toBe(k)
      const ids = incident.recruited.map((r) => r.id)
      expect(new Set(ids).size).toBe(k)
      expect(ids).not.toContain("off-1")
      // every recruited agent shared a finding through the artifact
      expect(incident.findings.map((f) => f.by).sort()).toEqual([...ids].sort())
      expect(incident.recruitMs).toBeGreaterThanOrEqual(0)
      expect(incident.status).toBe("responding")
    }
    expect(h.severity).toBe(0.7)
    expect(h.findings[0]!.finding).toContain("integrations.stripe")
    // the first candidate in turn refuses: it is recorded and replaced, never counted
    const declined = [...h.declined, ...c.declined].map((d) => d.id)
    expect(declined.every((id) => id === "off-1")).toBe(true)
    // one recruiter formed each incident; receipts for each recruit
    const both = recruiters.flatMap((r) => r.formed().map((i) => i.incident))
    expect(both.filter((i) => i === h.incident)).toHaveLength(1)
    expect(both.filter((i) => i === c.incident)).toHaveLength(1)
    expect(receipts.filter((r) => r.kind === "response_recruit" && r.detail.incident === c.incident)).toHaveLength(5)
    expect(await getIncident(ws(), `integrations.mail.${quiet.id}`)).toBeUndefined()
    console.log(`[collective response] detection -> all recruited working: high k=3 ${h.recruitMs} ms, critical k=5 ${c.recruitMs} ms; deposit -> working: ${(h as { signalMs?: number }).signalMs} ms, ${(c as { signalMs?: number }).signalMs} ms`)
  })

  it("collective response - the always-on recruiter type hosted by the node forms incidents through its own context", async () => {
    const t = await createPheromones(nats.nc, { emitter: "door-sensor" }).deposit({ type: "danger", location: "alarms.door", strength: "critical" })
    const i = await formedIncident("alarms.door", t.id, 5)
    expect((await createWorkspace(nats.nc).get(i.incident))?.createdBy).toBe("default/recruiter/main")
    const status = await fx.node.client.ref(recruiter, "main").ask("Status", {})
    expect(status.incidents).toContainEqual(expect.objectContaining({ incident: i.incident, k: 5, recruited: 5 }))
  })

  it("collective response - a reinforcement that raises the severity recruits the difference", async () => {
    const ph = createPheromones(nats.nc, { emitter: "monitor" })
    const t = await ph.deposit({ type: "danger", location: "integrations.ledger", strength: "high" })
    await formedIncident("integrations.ledger", t.id, 3)
    await ph.reinforce(t.key, { strength: "critical" }) // capped at 1: critical
    const grown = await formedIncident("integrations.ledger", t.id, 5)
    expect(new Set(grown.recruited.map((r) => r.id)).size).toBe(5)
  })
})
