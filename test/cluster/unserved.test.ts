/**
 * Unserved hints (runtime/server/unserved-hint.ts, runtime/cluster/unserved.ts): a caller whose
 * ask found no one serving its partition says so, and one node checks whether the node that
 * served it is gone, so a crashed node's actors move as soon as someone asks one of them.
 * - the caller's side: a hint per (tenant, partition) and gap, for agent subjects only, sent by
 *   an ask that found no responders;
 * - the node's side, against hand-made views on a real server: a member whose connection is gone
 *   is removed with a marker naming the checker; a live one, one that does not serve the
 *   partition, and any member while the checker cannot judge are left alone; a member is
 *   checked once per gap whatever the number of hints;
 * - two node processes whose heartbeats are 12 s apart: one killed just after a beat of its own
 *   landed could be noticed by the heartbeat path only 13 s later, yet its actors answer from
 *   the survivor as soon as they are asked through the runtime's client, and the survivor's
 *   inspection counts the member it removed for a hint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { hintUnserved, HINT_GAP_MS } from "../../runtime/server/unserved-hint.ts"
import { requestReply } from "../../runtime/server/reply-inbox.ts"
import { askSubject } from "../../runtime/client/messaging.ts"
import { answerUnserved, type UnservedView } from "../../runtime/cluster/unserved.ts"
import { connRefs, downedBy } from "../../runtime/cluster/gone-check.ts"
import { answerPings } from "../../runtime/cluster/liveness.ts"
import type { Member, MemberRecord } from "../../runtime/cluster/member-record.ts"
import { listActors, listNodes } from "../../runtime/cluster/inspect-client.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { MEMBERS_BUCKET, UNSERVED_SUBSCRIPTION, parseUnservedSubject } from "../../subjects/cluster.ts"
import { PARTITIONS, partitionSubject } from "../../subjects/grammar.ts"
import { natsPerFile, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { nodeProcesses, settledNodes, type NodeProcesses } from "./fixtures/node-processes.ts"

const enc = new TextEncoder()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let server: NatsServer
let nc: NatsConnection
natsPerFile({}, (s, c) => ([server, nc] = [s, c]))

/** Subjects published on the hint subscription, collected until `stop`. */
function hintsSeen(on: NatsConnection) {
  const seen: string[] = []
  const sub = on.subscribe(UNSERVED_SUBSCRIPTION, { callback: (_e, m) => void seen.push(m.subject) })
  return { seen, stop: () => sub.unsubscribe(), flushed: () => on.flush() }
}

describe("unserved hints: the caller's side", () => {
  it("unserved-hint - one hint per tenant, partition and gap, for agent subjects only", async () => {
    const caller = await rawConnect(server.url)
    const h = hintsSeen(nc)
    try {
      await nc.flush()
      const t0 = 1_000_000
      const p = partitionOf("counter", "c1")
      expect(hintUnserved(caller, "ants.acme.agent.counter.c1.Add", t0)).toBe(true)
      // the same partition again within the gap: nothing; another tenant or partition: a hint
      expect(hintUnserved(caller, "ants.acme.agent.counter.c1.Get", t0 + 1)).toBe(false)
      expect(hintUnserved(caller, "ants.other.agent.counter.c1.Add", t0 + 1)).toBe(true)
      const q = [...Array(50).keys()].map((i) => `x${i}`).find((id) => partitionOf("counter", id) !== p)!
      expect(hintUnserved(caller, `ants.acme.agent.counter.${q}.Add`, t0 + 2)).toBe(true)
      // past the gap: again
      expect(hintUnserved(caller, "ants.acme.agent.counter.c1.Add", t0 + HINT_GAP_MS)).toBe(true)
      // not an agent subject: a ping, a routed or mapped subject, a JetStream call
      for (const s of ["ants._sys.node.n1.ping", "ants._part.3.acme.counter.c1.Add", "$JS.API.STREAM.INFO.x", "ants.acme.topic.a.b.c"]) expect(hintUnserved(caller, s, t0 + 10_000)).toBe(false)
      await caller.flush()
      await h.flushed()
      await waitUntil(() => h.seen.length === 4, { timeoutMs: 5_000, message: "four hints" })
      expect(h.seen).toEqual([`ants.acme.unserved.${p}`, `ants.other.unserved.${p}`, `ants.acme.unserved.${partitionOf("counter", q)}`, `ants.acme.unserved.${p}`])
      expect(h.seen.map((s) => parseUnservedSubject(s, PARTITIONS))).toEqual([p, p, partitionOf("counter", q), p])
      expect(parseUnservedSubject("ants.acme.unserved.64", PARTITIONS)).toBeUndefined()
      expect(parseUnservedSubject("ants.acme.unserved.-1", PARTITIONS)).toBeUndefined()
      expect(parseUnservedSubject("ants.acme.unserved", PARTITIONS)).toBeUndefined()
    } finally {
      h.stop()
      await caller.close()
    }
  })

  it("unserved-hint - an ask that finds no responders sends one; an answered ask and a timeout do not", async () => {
    const caller = await rawConnect(server.url)
    const h = hintsSeen(nc)
    // the server maps agent subjects to their partition (nats.conf): answer there
    const mapped = (id: string) => partitionSubject(partitionOf("echo", id), { tenant: "acme", type: "echo", id, tag: "Say" })
    const answer = nc.subscribe(mapped("here"), { callback: (_e, m) => void m.respond(enc.encode('{"ok":true,"value":{}}')) })
    const silent = nc.subscribe(mapped("mute"), { callback: () => undefined })
    try {
      await nc.flush()
      await askSubject(caller, "ants.acme.agent.echo.here.Say", enc.encode("{}"), 2_000)
      await expect(askSubject(caller, "ants.acme.agent.echo.mute.Say", enc.encode("{}"), 150)).rejects.toMatchObject({ code: "timeout" })
      await expect(askSubject(caller, "ants.acme.agent.echo.gone.Say", enc.encode("{}"), 2_000)).rejects.toMatchObject({ code: "unavailable" })
      // a request that is no agent ask: no hint
      await expect(requestReply(caller, "ants._sys.node.nobody.ping", new Uint8Array(), 2_000)).rejects.toThrow(/no responders/)
      await caller.flush()
      await waitUntil(() => h.seen.length >= 1, { timeoutMs: 5_000, message: "a hint" })
      await sleep(100)
      expect(h.seen).toEqual([`ants.acme.unserved.${partitionOf("echo", "gone")}`])
    } finally {
      h.stop()
      answer.unsubscribe()
      silent.unsubscribe()
      await caller.close()
    }
  })
})

describe("unserved hints: the node's side (hand-made views)", () => {
  let kv: KV
  beforeAll(async () => {
    kv = await new Kvm(nc).create(MEMBERS_BUCKET, { history: 1 })
  })

  const record = (node: string, serving: number[], conns: MemberRecord["conns"]): MemberRecord => ({ v: 1, node, incarnation: "i", state: "up", types: ["where"], serving, startedAt: "", at: "", host: "", pid: 0, conns })
  /** A member on a connection of its own that answers its pings; `close` makes it a crashed one. */
  async function member(node: string, serving: number[]): Promise<{ m: Member; close: () => Promise<void> }> {
    const own = await rawConnect(server.url)
    answerPings(own, node, "i")
    await own.flush()
    const r = record(node, serving, connRefs([own]))
    const revision = await kv.put(node, enc.encode(JSON.stringify(r)))
    return { m: { record: r, revision, lastSeen: Date.now() }, close: () => own.close() }
  }
  const view = (members: Map<string, Member>, judging: () => boolean): UnservedView => ({ members, heartbeatMs: 60_000, canJudge: () => judging() })

  it("unserved - a member that serves the partition and whose connection is gone is removed with a marker naming the checker; the live and the others are left alone", async () => {
    const dead = await member("dead1", [5, 6])
    const live = await member("live1", [5])
    const other = await member("other1", [7])
    await dead.close()
    await other.close() // gone too, but it does not serve partition 5
    const members = new Map([["dead1", dead.m], ["live1", live.m], ["other1", other.m], ["me", dead.m]])
    const checker = await rawConnect(server.url)
    const logs: string[] = []
    const { sub, counts } = answerUnserved(checker, view(members, () => true), "me", (_l, m) => logs.push(m))
    try {
      await checker.flush()
      nc.publish("ants.acme.unserved.5")
      await waitUntil(async () => (await kv.get("dead1"))?.operation === "DEL", { timeoutMs: 10_000, message: "dead1's entry is removed" })
      expect(downedBy((await kv.get("dead1"))!.value)).toBe("me")
      // wait for the live member's check to settle as well
      await waitUntil(() => counts.checked === 2, { timeoutMs: 5_000 })
      await sleep(300)
      expect(counts).toEqual({ hints: 1, checked: 2, downed: 1 })
      expect((await kv.get("live1"))?.operation).toBe("PUT")
      expect((await kv.get("other1"))?.operation).toBe("PUT")
      expect(logs.join("\n")).toMatch(/node dead1 is gone: an ask to partition 5 found no responders/)
      // another hint within the gap: no member checked again
      nc.publish("ants.acme.unserved.5")
      nc.publish("ants.other.unserved.5")
      await waitUntil(() => counts.hints === 3, { timeoutMs: 5_000 })
      expect(counts.checked).toBe(2)
      // a subject that is not a hint is ignored
      nc.publish("ants.acme.unserved.99")
      await nc.flush()
      await sleep(100)
      expect(counts.hints).toBe(3)
    } finally {
      sub.unsubscribe()
      await live.close()
      await checker.close()
    }
  })

  it("unserved - nothing is checked while the checker cannot judge, and a member whose entry moved on is not removed", async () => {
    const dead = await member("dead2", [9])
    await dead.close()
    let judging = false
    const members = new Map([["dead2", dead.m]])
    const checker = await rawConnect(server.url)
    const { sub, counts } = answerUnserved(checker, view(members, () => judging), "me", () => undefined)
    try {
      await checker.flush()
      nc.publish("ants.acme.unserved.9")
      await waitUntil(() => counts.hints === 1, { timeoutMs: 5_000 })
      expect(counts.checked).toBe(0)
      // judging again, but a beat landed after the revision the view holds: the marker is refused
      judging = true
      await kv.put("dead2", enc.encode(JSON.stringify(dead.m.record)))
      nc.publish("ants.acme.unserved.9")
      await waitUntil(() => counts.checked === 1, { timeoutMs: 5_000 })
      await sleep(800)
      expect(counts.downed).toBe(0)
      expect((await kv.get("dead2"))?.operation).toBe("PUT")
    } finally {
      sub.unsubscribe()
      await checker.close()
    }
  })
})

describe("unserved hints: two node processes, heartbeats 12 s apart", () => {
  const HEARTBEAT_MS = 12_000
  let procs: NodeProcesses
  beforeAll(async () => {
    procs = nodeProcesses(() => server.url, "auto", { heartbeatMs: HEARTBEAT_MS, expiryMs: 3 * HEARTBEAT_MS })
    await procs.start("u1")
    await procs.start("u2")
    await settledNodes(nc, ["u1", "u2"])
  }, 60_000)
  afterAll(async () => {
    await procs?.stopAll()
  })

  it("unserved - a node killed just after its beat: its actors answer from the survivor when asked, long before a missed beat could be noticed", async () => {
    const caller = await rawConnect(server.url)
    const ask = (id: string) => askSubject(caller, `ants.default.agent.where.${id}.Hit`, enc.encode("{}"), 1_000) as Promise<{ node: string; count: number }>
    const ids = Array.from({ length: 12 }, (_, i) => `w${i}`)
    for (const id of ids) await ask(id)
    const { actors } = await listActors(nc, { type: "where" })
    const victim = actors.find((a) => ids.includes(a.id))!.node
    const survivor = victim === "u1" ? "u2" : "u1"
    const held = actors.filter((a) => ids.includes(a.id) && a.node === victim).map((a) => a.id)
    expect(held.length).toBeGreaterThan(0)
    const members = await new Kvm(nc).open(MEMBERS_BUCKET)
    // kill it right after one of its beats landed: the heartbeat path would probe it only 1.1 periods (13 s) later
    const beats = await members.watch({ key: victim, include: "updates" })
    for await (const e of beats) if (e.operation === "PUT") break
    beats.stop()
    await procs.stop(victim, "SIGKILL")
    try {
      const answered = new Map<string, { node: string; count: number }>()
      await waitUntil(
        async () => {
          for (const id of held) if (!answered.has(id)) await ask(id).then((r) => answered.set(id, r), () => undefined)
          return answered.size === held.length
        },
        // the heartbeat path acts 1.1 periods after the last beat at the earliest: 13 s after the kill
        { timeoutMs: 9_000, intervalMs: 20, message: "the victim's actors answer from the survivor within 9 s of the kill" },
      )
      for (const [id, r] of answered) {
        expect(r.node, id).toBe(survivor)
        expect(r.count, id).toBeGreaterThanOrEqual(2) // restored from its checkpoint (where checkpoints before replying)
      }
      const marker = await members.get(victim)
      expect(marker?.operation).toBe("DEL")
      expect(downedBy(marker!.value)).toBe(survivor)
      // the survivor's inspection says a hint did it
      const info = (await listNodes(nc)).find((n) => n.node === survivor)!
      expect(info.unserved.hints).toBeGreaterThan(0)
      expect(info.unserved.downed).toBe(1)
    } finally {
      await caller.close()
    }
  }, 60_000)
})
