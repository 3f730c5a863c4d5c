/**
 * What a node does with actors and senders that misbehave (the chaos example agent): replies
 * and states too large for the server, messages too deep or too invalid, prototype keys on
 * every path, handlers that never finish or hold the CPU. Each test is one of the behaviours a
 * hostile or careless user reproduced, checked through a node's public surface (asks, tells,
 * its stats and supervisor events).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { headers, type NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { CHAOS_MERGE_CAPABILITY, chaos, chaosCpu, echo } from "../../actors/examples/index.ts"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { createMessaging, isAskError } from "../../runtime/client/messaging.ts"
import { agentSubject, lifecycleSubject, supervisorWildcard, taskSubject } from "../../subjects/grammar.ts"
import { STATE_BUCKET, stateKey } from "../../subjects/kv.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

/** Why each stuck Hang's ctx.signal was aborted. */
const stuckAborts: string[] = []

/** A handler that never finishes, with a deadline long enough that only a reset can free it. */
const stuck = defineAgent({
  type: "stuck",
  protocol: { Hang: { message: Empty, reply: Empty }, Get: { message: Empty, reply: Schema.Struct({ ok: Schema.Boolean }) } },
  checkpoint: "never",
  handlerTimeoutMs: 600_000,
  handlers: {
    Hang: (_m, ctx) => {
      const signal = ctx.signal
      signal.addEventListener("abort", () => void stuckAborts.push(String(signal.reason)))
      return new Promise<{}>(() => {})
    },
    Get: () => ({ ok: true }),
  },
})

/** What became of each `patient` handler: how it ended, and whether its signal was aborted then. */
const patientRuns: Array<{ id: number; ended?: "stopped" | "finished"; aborted?: boolean; reason?: string }> = []

/** Waits `ms`: `Wait` hands ctx.signal to its timer (and stops with it), `Ignore` does not. */
const patient = defineAgent({
  type: "patient",
  protocol: {
    Wait: { message: Schema.Struct({ ms: Schema.Number }), reply: Empty },
    Ignore: { message: Schema.Struct({ ms: Schema.Number }), reply: Empty },
    Count: { message: Empty, reply: Schema.Struct({ runs: Schema.Number }) },
  },
  checkpoint: "never",
  handlers: {
    Wait: async ({ ms }, ctx) => {
      const signal = ctx.signal
      const run: (typeof patientRuns)[number] = { id: patientRuns.length }
      patientRuns.push(run)
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, ms)
          signal.addEventListener("abort", () => {
            clearTimeout(t)
            reject(signal.reason)
          })
        })
        run.ended = "finished"
      } catch (e) {
        run.ended = "stopped"
        run.reason = (e as { _tag?: string })._tag ?? String(e)
        throw e
      }
      return {}
    },
    Ignore: async ({ ms }, ctx) => {
      const signal = ctx.signal
      const run: (typeof patientRuns)[number] = { id: patientRuns.length }
      patientRuns.push(run)
      await new Promise((r) => setTimeout(r, ms))
      run.ended = "finished"
      run.aborted = signal.aborted
      return {}
    },
    Count: () => ({ runs: patientRuns.length }),
  },
})

let server: NatsServer
let node: AntsNode
let nc: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()

async function rawAsk(subject: string, body: string | Uint8Array, timeout = 10_000): Promise<any> {
  const r = await nc.request(subject, typeof body === "string" ? enc.encode(body) : body, { timeout })
  return JSON.parse(dec.decode(r.data))
}

async function askError(p: Promise<unknown>): Promise<{ code: string; message: string; details?: unknown }> {
  const e = await p.then(
    () => undefined,
    (err) => err,
  )
  expect(isAskError(e), `expected an AskError, got ${String(e)}`).toBe(true)
  return e
}

beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({
    agents: [echo, chaos, chaosCpu, stuck, patient],
    nats: server.url,
    logger: () => {},
    limits: { handlerTimeoutMs: 1_000, loopBlockMs: 100 },
    // these tests are about bad input: a loaded runner that stalls the loop past a heartbeat must
    // not make the node refuse the next test's messages as out of touch (test/cluster covers that)
    cluster: { heartbeatMs: 1_000, expiryMs: 10_000 },
  })
  nc = await rawConnect(server.url)
})

afterAll(async () => {
  await nc?.close()
  await node?.drain()
  await server?.stop()
})

afterEach(() => {
  // a failing prototype test must not leak into the next one
  delete (Object.prototype as Record<string, unknown>).polluted
})

describe("bad actors and bad input", () => {
  it("replies - a reply over the server's max_payload is answered too_large, not dropped", async () => {
    const e = await askError(node.client.ref(chaos, "big-reply").ask("Reply", { bytes: 1_100_000 }, { timeoutMs: 10_000 }))
    expect(e.code).toBe("too_large")
    // the actor goes on
    expect(await node.client.ref(chaos, "big-reply").ask("Reply", { bytes: 3 })).toEqual({ text: "xxx" })
  })

  it("replies - the client refuses a message over max_payload before sending it", async () => {
    const e = await askError(node.client.ref(echo, "big-ask").ask("Say", { text: "x".repeat(2_000_000) }))
    expect(e.code).toBe("too_large")
    expect(() => createMessaging(nc).tell({ agent: "echo", id: "big-tell" }, "Say", { text: "x".repeat(2_000_000) })).toThrow(/max_payload/)
    expect(nc.isClosed()).toBe(false)
  })

  it("state - a state that cannot be stored fails its message and rolls back; the actor keeps working", async () => {
    const ref = node.client.ref(chaos, "grow")
    expect(await ref.ask("Grow", { bytes: 600_000 })).toEqual({ stateBytes: 600_000 })
    const tooBig = await askError(ref.ask("Grow", { bytes: 600_000 }))
    expect(tooBig.code).toBe("too_large")
    expect(await ref.ask("Get", {})).toEqual({ stateBytes: 600_000, blobs: 1 })
    const deep = await askError(ref.ask("Deepen", { levels: 100 }))
    expect(deep.code).toBe("handler_failed")
    expect(deep.message).toMatch(/state/)
    const bigint = await askError(ref.ask("Corrupt", { kind: "bigint" }))
    expect(bigint.message).toMatch(/state/)
    const cycle = await askError(ref.ask("Corrupt", { kind: "cycle" }))
    expect(cycle.message).toMatch(/state/)
    expect(await ref.ask("Grow", { bytes: 10 })).toEqual({ stateBytes: 600_010 })
  })

  it("limits - a message nested 100,000 levels deep is refused and the actor keeps working", async () => {
    const deep = `{"data":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}`
    const r = await rawAsk(agentSubject({ tenant: "default", type: "chaos", id: "deep", tag: "Merge" }), deep)
    expect(r.ok).toBe(false)
    expect(r.error.code).toBe("invalid_message")
    expect(r.error.message).toMatch(/deeper than 64/)
    expect(await node.client.ref(chaos, "deep").ask("Get", {})).toEqual({ stateBytes: 0, blobs: 0 })
  })

  it("limits - an 800 KB message of 260,000 invalid array items gets a short invalid_message, not a stall or unavailable", async () => {
    const body = JSON.stringify({ items: Array.from({ length: 260_000 }, () => []) })
    expect(body.length).toBeGreaterThan(750_000)
    const r = await rawAsk(agentSubject({ tenant: "default", type: "chaos", id: "items", tag: "Items" }), body)
    expect(r.ok).toBe(false)
    expect(r.error.code).toBe("invalid_message")
    expect((r.error.details as unknown[]).length).toBeLessThanOrEqual(10)
  })

  it("deadlines - a handler that never finishes times out, its actor is restarted and its mailbox goes on", async () => {
    const events: Array<{ directive: string; reason: string }> = []
    const sub = nc.subscribe(supervisorWildcard("default", "chaos"), { callback: (_e, m) => void events.push(JSON.parse(dec.decode(m.data))) })
    await nc.flush()
    const ref = node.client.ref(chaos, "hang")
    const hang = ref.ask("Hang", {}, { timeoutMs: 20_000 })
    const queued = ref.ask("Grow", { bytes: 1 }, { timeoutMs: 20_000 })
    const e = await askError(hang)
    expect(e.code).toBe("timeout")
    expect(e.message).toMatch(/did not finish within 1000 ms/)
    expect(await queued).toEqual({ stateBytes: 1 })
    await waitUntil(() => events.some((ev) => ev.directive === "restart" && /timeout|did not finish/.test(ev.reason)))
    sub.unsubscribe()
  })

  it("deadlines - supervision.reset really frees a stuck actor", async () => {
    const ref = node.client.ref(stuck, "s1")
    let active = false
    const sub = nc.subscribe(lifecycleSubject({ tenant: "default", type: "stuck", id: "s1" }), {
      callback: (_e, m) => void (JSON.parse(dec.decode(m.data)).to === "active" && (active = true)),
    })
    await nc.flush()
    const hang = ref.ask("Hang", {}, { timeoutMs: 60_000 }).catch((err) => err)
    const behind = ref.ask("Get", {}, { timeoutMs: 60_000 })
    // once active, the actor has started Hang (and Get waits behind it)
    await waitUntil(() => active)
    sub.unsubscribe()
    node.supervision!.reset({ type: "stuck" })
    expect(await behind).toEqual({ ok: true })
    const err = await hang
    expect(isAskError(err) && ["unavailable", "timeout"].includes(err.code)).toBe(true)
    expect(await ref.ask("Get", {})).toEqual({ ok: true })
    // the abandoned handler's signal said so
    expect(stuckAborts).toHaveLength(1)
    expect(stuckAborts[0]).toMatch(/Hang was abandoned/)
  })

  it("deadlines - a handler that hands ctx.signal to what it awaits stops at its deadline", async () => {
    const events: Array<{ directive: string; reason: string }> = []
    const sub = nc.subscribe(supervisorWildcard("default", "patient"), { callback: (_e, m) => void events.push(JSON.parse(dec.decode(m.data))) })
    await nc.flush()
    const ref = node.client.ref(patient, "w1")
    const first = patientRuns.length
    const e = await askError(ref.ask("Wait", { ms: 600_000 }, { timeoutMs: 20_000 }))
    expect(e.code).toBe("timeout")
    // the wait of ten minutes ended with the deadline, aborted by the runtime
    await waitUntil(() => patientRuns[first]?.ended !== undefined, { message: "the handler stopped" })
    expect(patientRuns[first]).toMatchObject({ ended: "stopped", reason: "HandlerTimeoutError" })
    await waitUntil(() => events.some((ev) => ev.directive === "restart" && /did not finish/.test(ev.reason)))
    sub.unsubscribe()
    expect(await ref.ask("Count", {})).toEqual({ runs: first + 1 })
  })

  it("deadlines - a handler that ignores ctx.signal still times out and gets its actor restarted", async () => {
    const events: Array<{ directive: string; reason: string }> = []
    const sub = nc.subscribe(supervisorWildcard("default", "patient"), { callback: (_e, m) => void events.push(JSON.parse(dec.decode(m.data))) })
    await nc.flush()
    const ref = node.client.ref(patient, "i1")
    const first = patientRuns.length
    const e = await askError(ref.ask("Ignore", { ms: 4_000 }, { timeoutMs: 20_000 }))
    expect(e.code).toBe("timeout")
    await waitUntil(() => events.some((ev) => ev.directive === "restart" && /did not finish/.test(ev.reason)))
    sub.unsubscribe()
    // restarted and serving while the abandoned handler still runs
    expect(await ref.ask("Count", {})).toEqual({ runs: first + 1 })
    expect(patientRuns[first].ended).toBeUndefined()
    // it ran on unseen, its signal aborted all along
    await waitUntil(() => patientRuns[first].ended === "finished", { timeoutMs: 10_000, message: "the ignoring handler finished" })
    expect(patientRuns[first].aborted).toBe(true)
  })

  it("cpu - a handler that blocks the event loop is named in a supervisor event and counted", async () => {
    const events: Array<{ directive: string; reason: string }> = []
    const sub = nc.subscribe(supervisorWildcard("default", "chaos"), { callback: (_e, m) => void events.push(JSON.parse(dec.decode(m.data))) })
    await nc.flush()
    expect(await node.client.ref(chaos, "hog").ask("Spin", { ms: 300 })).toEqual({ spunMs: 300 })
    await waitUntil(() => events.some((ev) => /blocked the event loop/.test(ev.reason)))
    sub.unsubscribe()
    const stats = await rawAsk(`ants._sys.node.${node.id}.stats`, "")
    expect(stats.value.types.chaos.loopBlocks).toBeGreaterThanOrEqual(1)
  })

  it("cpu - a type on worker threads computes without freezing another tenant's actor", async () => {
    const order: string[] = []
    const spin = node.client.ref(chaosCpu, "cpu1").ask("Spin", { ms: 2_000 }, { timeoutMs: 60_000 }).then(() => void order.push("spin"))
    // once the node's connection is flushed the spin has been dispatched; an echo from another tenant answers meanwhile
    await node.nc.flush()
    await node.client.ref(echo, "e1", "other").ask("Say", { text: "hi" }).then(() => void order.push("echo"))
    await spin
    expect(order).toEqual(["echo", "spin"])
  })

  it("prototype - a __proto__ or constructor.prototype message cannot pollute another tenant's actors", async () => {
    for (const body of ['{"data":{"__proto__":{"polluted":true}}}', '{"data":{"constructor":{"prototype":{"polluted":true}}}}']) {
      const r = await rawAsk(agentSubject({ tenant: "mallory", type: "chaos", id: "m", tag: "Merge" }), body)
      expect(r.error?.code).toBe("invalid_message")
    }
    expect(await node.client.ref(chaos, "victim", "alice").ask("Probe", {})).toEqual({ polluted: false })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("prototype - a decoded Schema.Record never has a sender-chosen prototype", async () => {
    const r = await node.client.ref(chaos, "rec").ask("Merge", { data: { a: 1 } })
    expect(r.plainPrototype).toBe(true)
    const raw = await rawAsk(agentSubject({ tenant: "default", type: "chaos", id: "rec", tag: "Merge" }), '{"data":{"b":{"__proto__":[]}}}')
    expect(raw.error?.code).toBe("invalid_message")
  })

  it("prototype - a stored state with prototype keys is restored without them", async () => {
    const kv = await new Kvm(nc).open(STATE_BUCKET)
    const address = { tenant: "default", type: "chaos", id: "stored" }
    await kv.put(stateKey(address), '{"v":1,"state":{"blobs":[],"deep":null,"merged":{"ok":1,"__proto__":{"polluted":true}}}}')
    expect(await node.client.ref(chaos, "stored").ask("Remerge", {})).toEqual({ keys: 1 })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("prototype - a task payload with prototype keys is refused before any handler sees it", async () => {
    const tasks = node.tasks!
    nc.publish(taskSubject("default", CHAOS_MERGE_CAPABILITY), enc.encode('{"payload":{"__proto__":{"polluted":true}}}'), { headers: taskHeaders("proto-task") })
    const status = await tasks.waitForStatus("proto-task", { timeoutMs: 20_000 })
    expect(status.state).toBe("dead_lettered")
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

function taskHeaders(id: string) {
  const h = headers()
  h.set("Nats-Msg-Id", id)
  return h
}
