/**
 * Fencing across processes: one nats-server, two runtime node processes. A node that is only
 * stalled (SIGSTOP), not dead, loses its actors to the other node; when it wakes up in the
 * middle of an `after-change` handler, the checkpoint that handler writes must not land on top
 * of the state the new owner restored (the new owner fenced it out when it took the lease over),
 * and the messages queued behind that handler must be refused, not served by the stale activation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { STATE_BUCKET, stateKey } from "../../subjects/kv.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { nodeProcesses, settledNodes, type NodeProcesses } from "./fixtures/node-processes.ts"

const enc = new TextEncoder()
const dec = new TextDecoder()

let server: NatsServer
let nc: NatsConnection
let procs: NodeProcesses

async function ask(subject: string, body: unknown, timeout = 2_000): Promise<any> {
  return JSON.parse(dec.decode((await nc.request(subject, enc.encode(JSON.stringify(body)), { timeout })).data))
}

async function storedTotal(kv: KV, id: string): Promise<number | undefined> {
  const e = await kv.get(stateKey({ tenant: "default", type: "tally", id }))
  return e && e.operation === "PUT" ? e.json<{ state: { total: number } }>().state.total : undefined
}

const subjectOf = (id: string) => (tag: string) => `ants.default.agent.tally.${id}.${tag}`

/** Adds 1 to tally `id` and waits until it is stored; the node that answered (the victim to stall). */
async function firstAdd(id: string): Promise<{ victim: string; kv: KV }> {
  const first = await ask(subjectOf(id)("Add"), { n: 1 })
  expect(first.ok).toBe(true)
  const kv = await new Kvm(nc).open(STATE_BUCKET)
  await waitUntil(async () => (await storedTotal(kv, id)) === 1, { message: "the first change is checkpointed" })
  return { victim: first.value.node, kv }
}

/** What another node than `victim` answers for tally `id` once it has taken it over. */
function takenOver(id: string, victim: string): Promise<{ node: string; total: number }> {
  return waitUntil(
    async () => {
      const r = await ask(subjectOf(id)("Get"), {}, 500).catch(() => undefined)
      return r?.ok && r.value.node !== victim ? r.value : undefined
    },
    { timeoutMs: 20_000, intervalMs: 50, message: "the other node answers for the actor" },
  )
}

/** The first Add of `n` to tally `id` that is answered ok (the swarm may still be moving it). */
function addAnswered(id: string, n: number): Promise<{ node: string; total: number }> {
  return waitUntil(
    async () => {
      const r = await ask(subjectOf(id)("Add"), { n }, 2_000).catch(() => undefined)
      return r?.ok ? r.value : undefined
    },
    { timeoutMs: 20_000, message: "the actor answers after the victim resumed" },
  )
}

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
  procs = nodeProcesses(() => server.url, "auto")
}, 30_000)

afterAll(async () => {
  await procs?.stopAll()
  await nc?.close()
  await server?.stop()
})

describe("fencing (2 node processes, 1 nats-server)", () => {
  it("fencing - a node stalled inside an after-change handler cannot write over the state the actor's new owner restored", async () => {
    await Promise.all([procs.start("fa"), procs.start("fb")])
    await settledNodes(nc, ["fa", "fb"])
    const id = "t1"
    const subject = subjectOf(id)
    const { victim, kv } = await firstAdd(id)

    const events: Array<{ from: string; to: string; node: string }> = []
    const lifecycle = nc.subscribe(`ants._sys.lifecycle.default.tally.${id}`, { callback: (_e, m) => void events.push(JSON.parse(dec.decode(m.data))) })
    let started = false
    const startedSub = nc.subscribe(`ants.default.topic.tally.started.${id}`, { callback: () => void (started = true) })
    await nc.flush()
    try {
      // a slow Add: the victim is stopped in the middle of it (its caller gives up meanwhile)
      const slow = nc.request(subject("Add"), enc.encode(JSON.stringify({ n: 100, delayMs: 300 })), { timeout: 1_000 }).catch((e) => e)
      await waitUntil(() => started, { message: "the slow Add started on the victim" })
      const p = procs.children.get(victim)!
      p.kill("SIGSTOP")
      // the other node takes the actor over (the victim's membership entry expires) and restores total 1
      const taken = await takenOver(id, victim)
      expect(taken.total).toBe(1)
      const seenBeforeResume = events.length
      p.kill("SIGCONT")
      // the victim wakes up, finishes the slow Add (total 101), tries to checkpoint it, and its activation stops
      await waitUntil(() => events.slice(seenBeforeResume).some((e) => e.node === victim && e.to === "cold"), { timeoutMs: 20_000, message: "the stale activation stops" })
      await slow
      // the legitimate owner's next change is the one that counts
      const after = await addAnswered(id, 1)
      expect(after.total).toBe(2)
      await waitUntil(async () => (await storedTotal(kv, id)) === 2, { timeoutMs: 5_000, message: "the new owner's change is stored, the stale one is not" })
      // the resumed node rejoins and partitions may move back to it: a Get that meets the move is
      // answered with an error that says to retry, and is retried; what it reads must be 2
      const errors: unknown[] = []
      const got = await waitUntil(
        async () => {
          const r = await ask(subject("Get"), {}).catch((e) => ({ ok: false, error: String(e) }))
          if (!r.ok) errors.push(r)
          return r.ok ? r.value : undefined
        },
        { timeoutMs: 20_000, message: "a Get answers ok" },
      ).catch((e) => {
        throw new Error(`${(e as Error).message}; the last errors: ${JSON.stringify(errors.slice(-3))}`)
      })
      expect(got.total).toBe(2)
      if (errors.length) console.log(JSON.stringify({ note: "Gets answered with an error while the resumed node rejoined", errors: errors.slice(0, 3) }))
    } finally {
      lifecycle.unsubscribe()
      startedSub.unsubscribe()
    }
  }, 90_000)

  it("fencing - when a stalled node wakes, the handler it was stalled in and the messages queued behind it get unavailable, not answers from the stale activation", async () => {
    // two nodes of its own (the first test's leave)
    await Promise.all([procs.stop("fa", "SIGTERM"), procs.stop("fb", "SIGTERM")])
    await Promise.all([procs.start("fc"), procs.start("fd")])
    await settledNodes(nc, ["fc", "fd"])
    const id = "t2"
    const subject = subjectOf(id)
    const { victim } = await firstAdd(id)

    let started = false
    const startedSub = nc.subscribe(`ants.default.topic.tally.started.${id}`, { callback: () => void (started = true) })
    await nc.flush()
    try {
      // a slow Add, and three Adds queued behind it on the victim (admitted while it was in touch)
      const slow = ask(subject("Add"), { n: 100, delayMs: 1_500 }, 30_000).catch((e) => ({ ok: false, error: { code: "no answer", message: String(e) } }))
      await waitUntil(() => started, { message: "the slow Add started on the victim" })
      const queued = [1, 2, 3].map((i) => ask(subject("Add"), { n: 1_000 * i }, 30_000).catch((e) => ({ ok: false, error: { code: "no answer", message: String(e) } })))
      await nc.flush()
      // the victim reads them while its handler waits (a wait, not an assertion: the handler waits 1.5 s)
      await new Promise((r) => setTimeout(r, 300))
      const p = procs.children.get(victim)!
      p.kill("SIGSTOP")
      // the other node takes the actor over (the victim's membership entry expires) and restores total 1
      const taken = await takenOver(id, victim)
      expect(taken.total).toBe(1)
      // the victim wakes: its slow handler ends, and what was queued behind it must not run there
      p.kill("SIGCONT")
      const answers = await Promise.all([slow, ...queued])
      // the slow one too: it ended out of touch, so it answered only once its change was stored,
      // and the new owner had fenced the state
      for (const a of answers) {
        expect(a.ok).toBe(false)
        expect(a.error.code).toBe("unavailable")
      }
      // none of them changed the actor: the new owner's next change makes 2
      const after = await addAnswered(id, 1)
      expect(after.total).toBe(2)
    } finally {
      startedSub.unsubscribe()
    }
  }, 90_000)
})
