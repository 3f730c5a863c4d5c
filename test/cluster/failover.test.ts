/**
 * The swarm across processes: three clustered nats-servers started from the shipped
 * nats-cluster/ configuration (JetStream, R3) and runtime nodes in child processes
 * (fixtures/cluster-node.ts) that choose their replicas themselves (3 on this cluster). The
 * start-up guarantees, join and graceful leave under a stream of asks, kill -9 of a node under
 * asks, durable tells surviving the kill of the node that held them, a stalled node, and the
 * loss of the NATS server that leads the actor-state bucket.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { createInterface } from "node:readline"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { headers, type NatsConnection } from "@nats-io/nats-core"
import { jetstreamManager } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { listNodes } from "../../runtime/cluster/inspect-client.ts"
import { bucketStream, LEASES_BUCKET, MAIL_CONSUMER, MAIL_STREAM, MEMBERS_BUCKET } from "../../subjects/cluster.ts"
import { STATE_BUCKET } from "../../subjects/kv.ts"
import { rawConnect, startNatsCluster, type NatsCluster } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { nodeProcesses, settledNodes, type NodeProcesses } from "./fixtures/node-processes.ts"
import { askStream as askStreamOn, busiestHolder, expectMonotonic } from "./fixtures/ask-stream.ts"

const BIN = new URL("../../runtime/cli/bin.mjs", import.meta.url).pathname
const EXAMPLES = new URL("../../actors/examples/index.ts", import.meta.url).pathname
const enc = new TextEncoder()
const dec = new TextDecoder()

let cluster: NatsCluster
let nc: NatsConnection
let procs: NodeProcesses
const startChild = (id: string) => procs.start(id)
const stopChild = (id: string, signal: "SIGTERM" | "SIGKILL") => procs.stop(id, signal)
const settled = (ids: string[]) => settledNodes(nc, ids)
const askStream = (ids: string[], timeoutMs?: number) => askStreamOn(nc, ids, timeoutMs)

/** Lifecycle events of `where` actors: which node holds each actor active, and any overlap. */
function watchActivations() {
  const holder = new Map<string, string>()
  const overlaps: string[] = []
  const sub = nc.subscribe("ants._sys.lifecycle.default.where.*", {
    callback: (_e, m) => {
      const id = m.subject.split(".").at(-1)!
      const ev = JSON.parse(dec.decode(m.data)) as { from: string; to: string; node: string }
      if (ev.from === "warming" && ev.to === "active") {
        const h = holder.get(id)
        if (h !== undefined && h !== ev.node) overlaps.push(`${id} active on ${ev.node} while active on ${h}`)
        holder.set(id, ev.node)
      } else if ((ev.to === "cold" || ev.to === "sleeping") && holder.get(id) === ev.node) {
        holder.delete(id)
      }
    },
  })
  return {
    overlaps,
    /** A killed node's activations are gone with it. */
    forget(node: string) {
      for (const [id, h] of holder) if (h === node) holder.delete(id)
    },
    stop: () => sub.unsubscribe(),
  }
}

beforeAll(async () => {
  cluster = await startNatsCluster(3)
  nc = await rawConnect(cluster.urls)
  procs = nodeProcesses(() => cluster.urls, "auto")
  // JetStream needs its meta leader before the nodes can create their buckets
  await waitUntil(
    async () => {
      await new Kvm(nc).create("ants_probe", { replicas: 3 })
      return true
    },
    { timeoutMs: 30_000, intervalMs: 250, message: "JetStream R3 is ready" },
  )
}, 60_000)

afterAll(async () => {
  await procs?.stopAll()
  await nc?.close()
  await cluster?.stop()
})

/** Starts `ants node` (the CLI, text output) and resolves with its ready banner. */
function startCliNode(args: string[]): Promise<{ proc: ChildProcess; banner: string[] }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, "node", "--agents", EXAMPLES, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    const banner: string[] = []
    let stderr = ""
    proc.stderr!.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-3000)))
    createInterface({ input: proc.stdout! }).on("line", (l) => {
      banner.push(l)
      if (l.includes("Ctrl-C drains")) resolve({ proc, banner })
    })
    proc.on("exit", (c) => reject(new Error(`ants node exited (${c}) before its banner:\n${stderr}`)))
  })
}

const CORE_STORES = [`${STATE_BUCKET} (KV)`, `${MEMBERS_BUCKET} (KV)`, `${LEASES_BUCKET} (KV)`, `${MAIL_STREAM} (stream)`]

describe("cluster across processes (3 nats-servers, R3)", () => {
  const ids = Array.from({ length: 10 }, (_, i) => `w${i}`)

  it("failover - ants node on the cluster of three says in its ready banner which guarantees hold; its buckets are R3 without --replicas", async () => {
    const { proc, banner } = await startCliNode(["--nats", cluster.urls, "--node-id", "cli1"])
    try {
      const text = banner.join("\n")
      expect(text).toMatch(/guarantees on nats-server \d+\.\d+\.\d+ \(runtime replicas R3\):/)
      const line = banner.find((l) => l.includes("replicated R3 or more, surviving the loss of one server:"))
      expect(line).toBeDefined()
      for (const store of CORE_STORES) expect(line).toContain(store)
      if (cluster.servers[0].version.startsWith("2.9.")) expect(text).toContain("warning: nats-server 2.9")
      const jsm = await jetstreamManager(nc)
      expect((await jsm.streams.info(bucketStream(STATE_BUCKET))).config.num_replicas).toBe(3)
      expect((await jsm.streams.info(MAIL_STREAM)).config.num_replicas).toBe(3)
    } finally {
      const exited = new Promise((r) => proc.once("exit", r))
      proc.kill("SIGTERM")
      await exited
    }
    expect(proc.exitCode).toBe(0)
  }, 90_000)

  it("failover - join and graceful leave under a stream of asks: no ask fails, counts never repeat", async () => {
    await Promise.all([startChild("n1"), startChild("n2")])
    await settled(["n1", "n2"])
    // started without replicas: each node found the cluster of three and chose R3, and says what is replicated
    for (const n of await listNodes(nc)) {
      expect(n.guarantees.replicas).toBe(3)
      for (const store of CORE_STORES) expect(n.guarantees.replicated).toContain(store)
      // pheromones, workspace and task streams are R3 too: nothing of the runtime's is left R1
      expect(n.guarantees.unreplicated).toEqual([])
      expect(n.guarantees.survivesServerLoss).toBe(true)
    }
    const acts = watchActivations()
    const s = askStream(ids)
    try {
      await waitUntil(() => ids.every((id) => s.ok(id).length >= 3), { timeoutMs: 20_000 })
      const t0 = Date.now()
      await startChild("n3")
      await settled(["n1", "n2", "n3"])
      const joinMs = Date.now() - t0
      await waitUntil(() => ids.every((id) => s.ok(id).filter((a) => a.at > Date.now() - 500).length > 0), { timeoutMs: 20_000 })
      const t1 = Date.now()
      await stopChild("n2", "SIGTERM")
      await settled(["n1", "n3"])
      const leaveMs = Date.now() - t1
      const before = new Map(ids.map((id) => [id, s.ok(id).length]))
      await waitUntil(() => ids.every((id) => s.ok(id).length >= before.get(id)! + 3), { timeoutMs: 20_000 })
      await s.stop()
      console.log(JSON.stringify({ scenario: "rebalance", joinSettledMs: joinMs, leaveSettledMs: leaveMs, asks: ids.reduce((n, id) => n + s.answers.get(id)!.length, 0) }))
      expect(s.failures()).toEqual([])
      for (const id of ids) expect(s.ok(id).map((a) => a.count!)).toEqual(s.ok(id).map((_, i) => i + 1))
      expect(acts.overlaps).toEqual([])
      // actors did move: some answered from more than one node
      expect(ids.some((id) => new Set(s.ok(id).map((a) => a.node)).size > 1)).toBe(true)
    } finally {
      await s.stop()
      acts.stop()
    }
  }, 120_000)

  it("failover - kill -9 of a node under asks: its actors answer again from a survivor, from their last checkpoint", async () => {
    await startChild("n4")
    await settled(["n1", "n3", "n4"])
    const acts = watchActivations()
    // short ask timeout: an ask that was in flight on the killed node is lost and retried
    const s = askStream(ids, 500)
    try {
      await s.answering()
      // the victim: the node holding the most of our actors
      const [victim, moved] = await busiestHolder(nc, ids)
      expect(moved.length).toBeGreaterThan(0)
      const lastBefore = new Map(moved.map((id) => [id, s.ok(id).at(-1)?.count ?? 0]))
      const lastOkSent = new Map(moved.map((id) => [id, s.ok(id).at(-1)?.sent ?? 0]))
      const killedAt = Date.now()
      await stopChild(victim, "SIGKILL")
      const exitedAt = Date.now()
      acts.forget(victim)
      const firstAfter = new Map<string, number>()
      await waitUntil(
        () => {
          for (const id of moved) {
            const a = s.ok(id).find((x) => x.at > killedAt && x.node !== victim)
            if (a && !firstAfter.has(id)) firstAfter.set(id, a.at - killedAt)
          }
          return firstAfter.size === moved.length
        },
        { timeoutMs: 30_000, intervalMs: 10, message: "every actor of the killed node answers again" },
      )
      const times = [...firstAfter.values()].sort((a, b) => a - b)
      console.log(JSON.stringify({ scenario: "failover", victim, actorsMoved: moved.length, killToFirstAnswerMs: times[0], killToAllAnswerMs: times.at(-1), medianMs: times[Math.floor(times.length / 2)] }))
      // a loose regression guard, not a timing target (the design target is 2 s; the benchmark measures it):
      // failover that takes 10 s on loopback means detection or takeover is broken
      expect(times.at(-1)!).toBeLessThan(10_000)
      await waitUntil(() => ids.every((id) => s.ok(id).filter((a) => a.at > Date.now() - 1_000).length > 0), { timeoutMs: 20_000 })
      await s.stop()
      for (const id of ids) expectMonotonic(s.ok(id).map((a) => a.count!))
      for (const id of moved) {
        const after = s.ok(id).find((a) => a.at > killedAt && a.node !== victim)!
        // before-reply checkpoints: every acknowledged count survived; beyond it, only asks whose
        // answer never came (in flight at the kill, or timed out waiting for the takeover, then
        // handled) may have been applied unseen
        const unanswered = s.answers.get(id)!.filter((a) => a.error !== undefined && a.sent >= lastOkSent.get(id)! && a.sent < after.sent).length
        expect(after.count).toBeGreaterThan(lastBefore.get(id)!)
        expect(after.count).toBeLessThanOrEqual(lastBefore.get(id)! + unanswered + 1)
      }
      // no ask sent after the kill is answered by the dead node
      for (const id of ids) expect(s.ok(id).filter((a) => a.sent > exitedAt && a.node === victim)).toEqual([])
      expect(acts.overlaps).toEqual([])
    } finally {
      await s.stop()
      acts.stop()
    }
  }, 120_000)

  it("failover - durable tells survive the kill of the node that held them unacked", async () => {
    await startChild("n5")
    const live = [...procs.children.keys()]
    await settled(live)
    const jsm = await jetstreamManager(nc)
    const before = await jsm.consumers.info(MAIL_STREAM, MAIL_CONSUMER).catch(() => undefined)
    const seqBefore = before?.delivered.stream_seq ?? 0
    const deliveriesBefore = before?.delivered.consumer_seq ?? 0
    // slow handlers (100 ms each, one at a time per actor), so deliveries are in flight at the kill
    const targets = ["d0", "d1", "d2", "d3"]
    const perTarget = 25
    const published: Array<Promise<unknown>> = []
    for (let i = 0; i < perTarget; i++) {
      for (const t of targets) {
        const h = headers()
        h.set("Nats-Msg-Id", `dur-${t}-${i}`)
        published.push(nc.request(`ants.default.mail.tally.${t}.Add`, enc.encode('{"n":1,"delayMs":100}'), { headers: h, timeout: 10_000 }))
      }
    }
    await Promise.all(published)
    // the victim: a node delivering durable mail right now (pulled, not acked)
    const holder = await waitUntil(
      async () => {
        const nodes = await listNodes(nc, { timeoutMs: 500 })
        const busiest = nodes.filter((n) => (n.mail?.inflight ?? 0) > 0).sort((a, b) => b.mail!.inflight - a.mail!.inflight)[0]
        return busiest ? { node: busiest.node, inflight: busiest.mail!.inflight } : undefined
      },
      { timeoutMs: 10_000, intervalMs: 20, message: "a node holds durable mail in flight" },
    )
    await stopChild(holder.node, "SIGKILL")
    const totals = async () =>
      Promise.all(
        targets.map(async (t) => {
          const r = JSON.parse(dec.decode((await nc.request(`ants.default.agent.tally.${t}.Get`, enc.encode("{}"), { timeout: 3_000 })).data))
          return r.ok ? (r.value.total as number) : -1
        }),
      )
    const started = Date.now()
    await waitUntil(async () => (await totals()).every((t) => t >= perTarget), { timeoutMs: 60_000, intervalMs: 250, message: "every durable tell delivered" })
    const final = await totals()
    const after = await jsm.consumers.info(MAIL_STREAM, MAIL_CONSUMER)
    const messages = after.delivered.stream_seq - seqBefore
    const redelivered = after.delivered.consumer_seq - deliveriesBefore - messages
    console.log(JSON.stringify({ scenario: "durable-mail-kill", victim: holder.node, victimInflight: holder.inflight, delivered: final, expectedEach: perTarget, redelivered, settleMs: Date.now() - started }))
    expect(holder.inflight).toBeGreaterThan(0)
    expect(messages).toBe(targets.length * perTarget)
    // what the victim held unacked was delivered again by the survivors
    expect(redelivered).toBeGreaterThan(0)
    // at least once: every tell arrived; a tell handled just before the kill may arrive twice
    for (const t of final) expect(t).toBeGreaterThanOrEqual(perTarget)
  }, 120_000)

  it("failover - a node that stalls (SIGSTOP) past the expiry loses its actors; resumed, it never answers from the old activations", async () => {
    const live = [...procs.children.keys()]
    await settled(live)
    const acts = watchActivations()
    const s = askStream(ids, 1_000)
    try {
      await s.answering()
      const [victim, moved] = await busiestHolder(nc, ids)
      const p = procs.children.get(victim)!
      const stoppedAt = Date.now()
      p.kill("SIGSTOP")
      // from the swarm's point of view the stalled node is gone; what it does on waking is checked by the counts
      acts.forget(victim)
      await waitUntil(() => moved.every((id) => s.ok(id).some((a) => a.sent > stoppedAt && a.node !== victim)), { timeoutMs: 20_000, intervalMs: 10, message: "the stalled node's actors answer from the others" })
      const takenOverMs = Date.now() - stoppedAt
      await new Promise((r) => setTimeout(r, 500))
      p.kill("SIGCONT")
      const resumedAt = Date.now()
      await settled(live)
      const rejoinMs = Date.now() - resumedAt
      const counts = new Map(ids.map((id) => [id, s.ok(id).length]))
      await waitUntil(() => ids.every((id) => s.ok(id).length >= counts.get(id)! + 3), { timeoutMs: 20_000 })
      await s.stop()
      console.log(JSON.stringify({ scenario: "stall", victim, actorsMoved: moved.length, stallToAllAnsweringMs: takenOverMs, resumeToSettledMs: rejoinMs }))
      // an answer from a stale activation would repeat or lower a count
      for (const id of ids) expectMonotonic(s.ok(id).map((a) => a.count!))
      expect(acts.overlaps).toEqual([])
    } finally {
      await s.stop()
      acts.stop()
    }
  }, 120_000)

  it("failover - the loss of one NATS server of three: the swarm keeps answering", async () => {
    const live = [...procs.children.keys()]
    await settled(live)
    const s = askStream(ids, 3_000)
    try {
      await s.answering()
      // the server that leads the actor-state bucket (the one whose loss forces a JetStream leader election)
      const jsm = await jetstreamManager(nc)
      const leader = (await jsm.streams.info(bucketStream(STATE_BUCKET))).cluster?.leader
      const index = cluster.serverNames.indexOf(leader ?? "")
      expect(index, `leader ${leader} is one of ${cluster.serverNames.join(", ")}`).toBeGreaterThanOrEqual(0)
      const stoppedAt = Date.now()
      const server = cluster.servers[index]
      await server.kill()
      await waitUntil(() => ids.every((id) => s.ok(id).some((a) => a.at > stoppedAt + 200)), { timeoutMs: 45_000, intervalMs: 50, message: "every actor answers after the server loss" })
      const recoveredMs = Date.now() - stoppedAt
      const failed = s.failures().length
      await s.stop()
      console.log(JSON.stringify({ scenario: "nats-server-loss", killed: leader, recoveredMs, failedAsksDuringLoss: failed }))
      for (const id of ids) expectMonotonic(s.ok(id).map((a) => a.count!))
      cluster.servers[index] = await server.restart()
    } finally {
      await s.stop()
    }
  }, 120_000)
})
