/**
 * Gone for sure (runtime/cluster/gone-check.ts): a killed node is told from a silent one by
 * asking the servers whether its connections are still there, and its actors are taken over
 * without waiting out the partition grace. Three clustered nats-servers (the nodes' connections
 * spread over them, so the answer must come from the right server) and runtime nodes in child
 * processes with a membership expiry of 20 s: the grace alone would hold a killed node's actors
 * for 20 s, so an answer from a survivor well within that comes from the confirmation.
 * - kill -9: the victim's actors answer from the survivors long before the expiry, counts never
 *   repeat, never two activations;
 * - a stall (SIGSTOP, 1 s): its connections are still listed, nothing is taken over;
 * - a node whose entry another node removed (as a confirmation does): every node takes it for
 *   dead at once (no grace); woken, its next heartbeat finds the removal, it stops its
 *   activations and joins again, and the actors go on counting from where they were.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { listActors, listNodes } from "../../runtime/cluster/inspect-client.ts"
import { allConnectionsGone, confirmGone, connRefs, downedBy, markDowned } from "../../runtime/cluster/gone-check.ts"
import type { MemberRecord } from "../../runtime/cluster/member-record.ts"
import { MEMBERS_BUCKET } from "../../subjects/cluster.ts"
import { rawConnect, startNatsCluster, type NatsCluster } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { nodeProcesses, settledNodes, type NodeProcesses } from "./fixtures/node-processes.ts"
import { askStream as askStreamOn, busiestHolder, expectMonotonic } from "./fixtures/ask-stream.ts"

const enc = new TextEncoder()
const EXPIRY_MS = 20_000

let cluster: NatsCluster
let nc: NatsConnection
let procs: NodeProcesses
const askStream = (ids: string[], timeoutMs?: number) => askStreamOn(nc, ids, timeoutMs)

beforeAll(async () => {
  cluster = await startNatsCluster(3)
  nc = await rawConnect(cluster.urls)
  procs = nodeProcesses(() => cluster.urls, "auto", { expiryMs: EXPIRY_MS })
  await waitUntil(
    async () => {
      await new Kvm(nc).create("ants_probe", { replicas: 3 })
      return true
    },
    { timeoutMs: 30_000, intervalMs: 250, message: "JetStream R3 is ready" },
  )
  for (const id of ["g1", "g2", "g3"]) await procs.start(id)
  await settledNodes(nc, ["g1", "g2", "g3"])
}, 90_000)

afterAll(async () => {
  await procs?.stopAll()
  await nc?.close()
  await cluster?.stop()
})

async function memberEntry(node: string): Promise<{ record: MemberRecord; revision: number } | undefined> {
  const e = await (await new Kvm(nc).open(MEMBERS_BUCKET)).get(node)
  return e?.operation === "PUT" ? { record: e.json<MemberRecord>(), revision: e.revision } : undefined
}

describe("gone for sure (3 nats-servers, membership expiry 20 s)", () => {
  it("gone-check - every live node advertises its connections, and the servers list them: none is gone", async () => {
    for (const id of ["g1", "g2", "g3"]) {
      const m = await memberEntry(id)
      expect(m, `${id}'s entry`).toBeDefined()
      // main, control and the first inbound lane: each connection as its server knows it
      expect(m!.record.conns!.length).toBeGreaterThanOrEqual(2)
      expect(await allConnectionsGone(nc, m!.record.conns)).toBe(false)
    }
    // a connection that was never there is gone by its server's own answer; an unknown server leaves it open
    const mine = connRefs([nc])
    expect(await allConnectionsGone(nc, [{ s: mine[0].s, c: 999_999 }])).toBe(true)
    expect(await allConnectionsGone(nc, [{ s: "NOSUCHSERVER", c: mine[0].c }])).toBe(false)
    expect(await allConnectionsGone(nc, [])).toBe(false)
  }, 30_000)

  it("gone-check - a confirmation is asked again while the member stays dead, and removes its entry only at the revision judged on", async () => {
    const kv = await new Kvm(nc).open(MEMBERS_BUCKET)
    const record = (conns: MemberRecord["conns"]): MemberRecord => ({ v: 1, node: "ghost", incarnation: "g", state: "up", types: [], serving: [], startedAt: "", at: "", host: "", pid: 0, conns })
    const [mine] = connRefs([nc])
    // a server that never answers: asked once per period until the member is no longer dead
    let asked = 0
    const never = { record: record([{ s: "NOSUCHSERVER", c: 1 }]), revision: await kv.put("ghost", enc.encode("{}")), lastSeen: 0 }
    expect(await confirmGone(nc, "ghost", never, "tester", () => ++asked <= 3, 10)).toBe(false)
    expect(asked).toBe(4)
    // gone by its server's answer, but a beat landed since the revision judged on: not removed
    const gone = { record: record([{ s: mine.s, c: 999_999 }]), revision: never.revision, lastSeen: 0 }
    const beat = await kv.put("ghost", enc.encode("{}"))
    let tries = 0
    expect(await confirmGone(nc, "ghost", gone, "tester", () => ++tries <= 2, 10)).toBe(false)
    expect((await kv.get("ghost"))?.operation).toBe("PUT")
    // at the revision of its last beat: removed, with a marker naming the prober
    expect(await confirmGone(nc, "ghost", { ...gone, revision: beat }, "tester", () => true, 10)).toBe(true)
    const marker = await kv.get("ghost")
    expect(marker?.operation).toBe("DEL")
    expect(downedBy(marker!.value)).toBe("tester")
  }, 30_000)

  it("gone-check - a stall of 1 s (SIGSTOP): its connections are still listed and nothing is taken over", async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `s${i}`)
    const s = askStream(ids, 2_000)
    try {
      await s.answering()
      const [victim, held] = await busiestHolder(nc, ids)
      const before = (await listNodes(nc)).reduce((n, x) => n + x.takeovers, 0)
      const p = procs.children.get(victim)!
      const stoppedAt = Date.now()
      p.kill("SIGSTOP")
      await new Promise((r) => setTimeout(r, 1_000))
      // while it is stopped its connections are open: the servers list them
      const entry = await memberEntry(victim)
      expect(await allConnectionsGone(nc, entry!.record.conns)).toBe(false)
      p.kill("SIGCONT")
      await waitUntil(() => held.every((id) => s.ok(id).some((a) => a.sent > stoppedAt + 1_000)), { timeoutMs: 20_000, message: "its actors answer again" })
      await s.stop()
      for (const id of held) expect(s.ok(id).filter((a) => a.sent > stoppedAt).map((a) => a.node)).toEqual(s.ok(id).filter((a) => a.sent > stoppedAt).map(() => victim))
      for (const id of ids) expectMonotonic(s.ok(id).map((a) => a.count!))
      expect((await listNodes(nc)).reduce((n, x) => n + x.takeovers, 0)).toBe(before)
      await settledNodes(nc, ["g1", "g2", "g3"])
    } finally {
      await s.stop()
    }
  }, 60_000)

  it("gone-check - a node whose entry another node removed is taken for dead at once by every node; woken, it stops its activations and joins again", async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `d${i}`)
    const s = askStream(ids, 1_000)
    try {
      await s.answering()
      const [victim, held] = await busiestHolder(nc, ids)
      // actors asked once and then left alone: no message makes a survivor take them over
      const idle = Array.from({ length: 16 }, (_, i) => `di${i}`)
      for (const id of idle) await nc.request(`ants.default.agent.where.${id}.Hit`, enc.encode("{}"), { timeout: 5_000 })
      const idleOnVictim = (await listActors(nc, { type: "where" })).actors.filter((a) => idle.includes(a.id) && a.node === victim && a.state === "active").map((a) => a.id)
      expect(idleOnVictim.length).toBeGreaterThan(0)
      const p = procs.children.get(victim)!
      // stopped, it cannot heartbeat or answer: what a confirmation sees of a crashed node, but
      // its connections stay open, so the removal is made here, as a confirmation makes it
      p.kill("SIGSTOP")
      let removedAt = 0
      try {
        await waitUntil(async () => {
          const e = await memberEntry(victim)
          if (e === undefined || !(await markDowned(nc, victim, e.revision, "tester"))) return false
          removedAt = Date.now()
          return true
        }, { timeoutMs: 10_000, message: "the victim's entry is removed at the revision read" })
        // no grace (20 s) for a node removed so: its actors answer from the others at once
        await waitUntil(() => held.every((id) => s.ok(id).some((a) => a.sent > removedAt && a.node !== victim)), {
          timeoutMs: EXPIRY_MS / 2,
          intervalMs: 10,
          message: "the removed node's actors answer from the others before the expiry",
        })
      } finally {
        p.kill("SIGCONT")
      }
      // woken, its first heartbeat finds the removal: it stops its activations and joins again
      await waitUntil(async () => (await memberEntry(victim))?.record.node === victim, { timeoutMs: 20_000, message: "the victim joins again" })
      await settledNodes(nc, ["g1", "g2", "g3"])
      const resumed = Date.now()
      await waitUntil(() => ids.every((id) => s.ok(id).some((a) => a.sent > resumed)), { timeoutMs: 20_000, message: "every actor answers after the re-join" })
      await s.stop()
      // an answer from the woken node's old activations would repeat or lower a count
      for (const id of ids) expectMonotonic(s.ok(id).map((a) => a.count!))
      const victimInfo = (await listNodes(nc)).find((n) => n.node === victim)!
      expect(victimInfo.members).toEqual(["g1", "g2", "g3"])
      // taken for dead, it kept none of its activations: any of them could have been taken over
      // by then without its knowing (the idle ones were not, and stopped all the same)
      const stillThere = (await listActors(nc, { type: "where" })).actors.filter((a) => idleOnVictim.includes(a.id) && a.node === victim && a.state === "active")
      expect(stillThere).toEqual([])
    } finally {
      await s.stop()
    }
  }, 90_000)

  it("gone-check - kill -9: the servers confirm its connections are gone and a survivor answers for its actors long before the 20 s expiry", async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `k${i}`)
    const s = askStream(ids, 500)
    try {
      await s.answering()
      const [victim, moved] = await busiestHolder(nc, ids)
      const entry = await memberEntry(victim)
      const killedAt = Date.now()
      await procs.stop(victim, "SIGKILL")
      // the grace alone would keep its actors for EXPIRY_MS; half of it is plenty for a loaded runner
      await waitUntil(() => moved.every((id) => s.ok(id).some((a) => a.sent > killedAt && a.node !== victim)), {
        timeoutMs: EXPIRY_MS / 2,
        intervalMs: 10,
        message: "every actor of the killed node answers from a survivor before the expiry",
      })
      expect(await allConnectionsGone(nc, entry!.record.conns)).toBe(true)
      expect(await memberEntry(victim)).toBeUndefined()
      await s.stop()
      for (const id of ids) expectMonotonic(s.ok(id).map((a) => a.count!))
    } finally {
      await s.stop()
    }
  }, 60_000)
})
