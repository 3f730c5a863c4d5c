import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { headers } from "@nats-io/nats-core"
import { rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { decodeReply } from "../../subjects/envelope.ts"
import { TASK_STATUS_BUCKET, taskLaneSubject, taskStatusKey, taskStatusSubject, type TaskState } from "../../subjects/tasks.ts"
import { startTaskEngine, type TaskEngine } from "../../runtime/tasks/engine.ts"
import { deadLetters } from "../../runtime/tasks/dead-letters.ts"
import { requestTaskStatus } from "../../runtime/tasks/status.ts"
import { WAITING_SCAN_MAX, lookUpTaskStatus } from "../../runtime/tasks/status-lookup.ts"
import { TaskRejected } from "../../runtime/tasks/errors.ts"
import type { WorkerEvent } from "../../runtime/tasks/worker.ts"
import { exampleWork } from "../../actors/examples/worker.ts"
import { Kvm } from "@nats-io/kv"
import { capabilityFor, staleClaimRace, storedFor, startTaskFixture, stopTaskFixture } from "./helpers.ts"

let server: NatsServer
let nc: NatsConnection
let engine: TaskEngine

beforeAll(async () => void ({ server, nc, engine } = await startTaskFixture()))
afterAll(() => stopTaskFixture({ server, nc, engine }))

describe("task engine", () => {
  it("task engine - a submitted task is completed with its result", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const w = await engine.serveCapability(cap, exampleWork.handle)
    const r = await engine.submit({ capability: cap, payload: { ms: 10 } })
    expect(r.state).toBe("pending")
    expect(r.duplicate).toBe(false)
    const rec = await engine.waitForStatus(r.id, { timeoutMs: 10_000 })
    expect(rec.state).toBe("completed")
    expect(rec.result).toEqual({ sleptMs: 10 })
    expect(rec.attempts).toBe(1)
    expect(rec.claimedBy).toBe(w.workerId)
    await w.stop()
  })

  it("task engine - a plain JetStream publish to the task subject is a task, its Nats-Msg-Id the id", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const other = await rawConnect(server.url)
    const h = headers()
    h.set("Nats-Msg-Id", "plain-1")
    const ack = await jetstream(other).publish(taskLaneSubject("default", cap, 5), JSON.stringify({ payload: { ms: 1 } }), { headers: h })
    expect(ack.duplicate).toBe(false)
    const again = await jetstream(other).publish(taskLaneSubject("default", cap, 5), JSON.stringify({ payload: { ms: 1 } }), { headers: h })
    expect(again.duplicate).toBe(true)
    let runs = 0
    const w = await engine.serveCapability(cap, async (p) => {
      runs++
      return await exampleWork.handle(p)
    })
    const rec = await engine.waitForStatus("plain-1")
    expect(rec.state).toBe("completed")
    expect(runs).toBe(1)
    await w.stop()
    await other.close()
  })

  it("task engine - submitting twice with one idempotency key stores and runs one task", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const a = await engine.submit({ capability: cap, payload: { ms: 1 }, idempotencyKey: "order-42" })
    const b = await engine.submit({ capability: cap, payload: { ms: 1 }, idempotencyKey: "order-42" })
    expect(a.id).toBe("order-42")
    expect(b.id).toBe("order-42")
    expect(a.duplicate).toBe(false)
    expect(b.duplicate).toBe(true)
    expect(await storedFor(nc, "default", cap)).toBe(1)
    let runs = 0
    const w = await engine.serveCapability(cap, async () => ++runs)
    expect((await engine.waitForStatus("order-42")).state).toBe("completed")
    expect(runs).toBe(1)
    await w.stop()
  })

  it("task engine - a failing task is retried, then dead-lettered after exactly maxAttempts with reason and last error", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const attempts: number[] = []
    const w = await engine.serveCapability(
      cap,
      async (_p, ctx) => {
        attempts.push(ctx.attempt)
        throw new Error(`boom ${ctx.attempt}`)
      },
      { maxAttempts: 3 },
    )
    const r = await engine.submit({ capability: cap, payload: { x: 1 } })
    const rec = await engine.waitForStatus(r.id)
    expect(rec.state).toBe("dead_lettered")
    expect(rec.reason).toBe("max_attempts")
    expect(rec.attempts).toBe(3)
    expect(attempts).toEqual([1, 2, 3])
    const dl = await engine.deadLetters.show(r.id)
    expect(dl).toMatchObject({ id: r.id, capability: cap, attempts: 3, reason: "max_attempts", lastError: "boom 3", payload: { x: 1 } })
    expect(await storedFor(nc, "default", cap)).toBe(0)
    await w.stop()
  })

  it("task engine - maxAttempts is configurable and TaskRejected dead-letters at once", async ({ task }) => {
    const cap = capabilityFor(task.name)
    let runs = 0
    const w = await engine.serveCapability(
      cap,
      async (p: { reject?: boolean }) => {
        runs++
        if (p.reject) throw new TaskRejected("payment provider refused the card", { reason: "dependency_down" })
        throw new Error("flaky")
      },
      { maxAttempts: 5 },
    )
    const flaky = await engine.submit({ capability: cap, payload: {} })
    const rejected = await engine.submit({ capability: cap, payload: { reject: true } })
    const a = await engine.waitForStatus(flaky.id)
    const b = await engine.waitForStatus(rejected.id)
    expect(a).toMatchObject({ state: "dead_lettered", attempts: 5, reason: "max_attempts" })
    expect(b).toMatchObject({ state: "dead_lettered", attempts: 1, reason: "dependency_down", lastError: "payment provider refused the card" })
    expect(runs).toBe(6)
    await w.stop()
  })

  it("task engine - a poison task never blocks the tasks behind it", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const events: WorkerEvent[] = []
    const poison = await engine.submit({ capability: cap, payload: { fail: true } })
    const good = []
    for (let i = 0; i < 5; i++) good.push(await engine.submit({ capability: cap, payload: { ms: 1 } }))
    const w = await engine.serveCapability(cap, exampleWork.handle, {
      concurrency: 1,
      backoff: { initialMs: 300, multiplier: 2, maxMs: 1_000 },
      onEvent: (e) => events.push(e),
    })
    for (const g of good) expect((await engine.waitForStatus(g.id)).state).toBe("completed")
    expect((await engine.waitForStatus(poison.id)).state).toBe("dead_lettered")
    const firstPoisonFailure = events.findIndex((e) => e.id === poison.id && e.type === "failed")
    const lastGood = Math.max(...good.map((g) => events.findIndex((e) => e.id === g.id && e.type === "completed")))
    const poisonDead = events.findIndex((e) => e.id === poison.id && e.type === "dead_lettered")
    expect(firstPoisonFailure).toBeLessThan(lastGood)
    expect(lastGood).toBeLessThan(poisonDead)
    await w.stop()
  })

  it("task engine - when several priorities wait, higher ones are delivered first", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const order = ["low", "background", "normal", "high", "critical", 2, 9, "low", "critical"] as const
    const ids = new Map<string, number>()
    for (const p of order) {
      const r = await engine.submit({ capability: cap, priority: p, payload: {} })
      ids.set(r.id, typeof p === "number" ? p : { critical: 10, high: 7, normal: 5, low: 3, background: 1 }[p])
    }
    const seen: number[] = []
    const w = await engine.serveCapability(cap, async (_p, ctx) => {
      seen.push(ctx.priority)
      await new Promise((r) => setTimeout(r, 5))
    }, { concurrency: 1 })
    await waitUntil(() => seen.length === order.length, { timeoutMs: 15_000 })
    expect(seen).toEqual([...seen].sort((a, b) => b - a))
    expect(seen).toEqual([10, 10, 9, 7, 5, 3, 3, 2, 1])
    await w.stop()
  })

  it("task engine - status goes pending, claimed (by the worker), failed, claimed, completed", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const r = await engine.submit({ capability: cap, payload: {} })
    await waitUntil(async () => (await engine.getStatus(r.id))?.state === "pending")
    const states = new Set<TaskState>()
    let release!: () => void
    const gate = new Promise<void>((res) => (release = res))
    const w = await engine.serveCapability(
      cap,
      async (_p, ctx) => {
        if (ctx.attempt === 1) {
          await new Promise((res) => setTimeout(res, 300))
          throw new Error("first attempt fails")
        }
        await gate
        return "done"
      },
      { backoff: { initialMs: 600, multiplier: 1, maxMs: 600 } },
    )
    const claimed = await waitUntil(async () => {
      const s = await engine.getStatus(r.id)
      if (s) states.add(s.state)
      return s?.state === "claimed" ? s : undefined
    })
    expect(claimed.claimedBy).toBe(w.workerId)
    const failed = await waitUntil(async () => {
      const s = await engine.getStatus(r.id)
      return s?.state === "failed" ? s : undefined
    })
    expect(failed).toMatchObject({ attempts: 1, lastError: "first attempt fails" })
    expect(failed.retryAt).toBeDefined()
    const second = await waitUntil(async () => {
      const s = await engine.getStatus(r.id)
      return s?.state === "claimed" && s.attempts === 2 ? s : undefined
    })
    expect(second.claimedBy).toBe(w.workerId)
    release()
    const done = await engine.waitForStatus(r.id)
    expect(done).toMatchObject({ state: "completed", attempts: 2, result: "done" })
    await w.stop()
  })

  it("task engine - bad input is refused with a clear error and nothing is stored", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ capability: cap, priority: 11 }, /priority/],
      [{ capability: cap, priority: "urgent" }, /priority/],
      [{ capability: "has space" }, /capability/],
      [{ capability: `${cap}._p1` }, /reserved/],
      [{ capability: cap, payload: "x".repeat(300 * 1024) }, /above the limit/],
      [{ capability: cap, notBefore: "next tuesday" }, /notBefore/],
      [{ capability: cap, idempotencyKey: "a key with spaces" }, /idempotencyKey/],
      [{ capability: cap, payload: { f: () => 1 }, unknown: true }, /unknown/],
    ]
    for (const [input, message] of bad) {
      const e = await engine.submit(input as never).then(
        () => undefined,
        (err: unknown) => err as { _tag: string; message: string },
      )
      expect(e, JSON.stringify(input).slice(0, 80)).toBeDefined()
      expect(["TaskInputError", "SubjectError"]).toContain(e!._tag)
      expect(e!.message).toMatch(message)
    }
    expect(await storedFor(nc, "default", cap)).toBe(0)
    const kv = await new Kvm(nc).open(TASK_STATUS_BUCKET)
    const keys: string[] = []
    for await (const k of await kv.keys(`default.*`)) keys.push(k)
    const jsm = await jetstreamManager(nc)
    expect((await jsm.streams.info("ANTS_TASKS_SCHEDULE", { subjects_filter: `ants._sys.tasks.default.sched.${cap}` })).state.subjects ?? {}).toEqual({})
    expect(keys.length).toBeGreaterThan(0) // other tests' records exist; none for the refused ones:
    const mine = await Promise.all(keys.map(async (k) => (await kv.get(k))?.json<{ capability: string }>()))
    expect(mine.filter((r) => r?.capability === cap)).toEqual([])
  })

  it("task engine - a task running longer than its claim keeps it alive with working() and runs once", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const ncB = await rawConnect(server.url)
    const engB = await startTaskEngine(ncB, { scheduler: false, statusResponder: false })
    let runs = 0
    const handler = async (p: { ms: number }) => {
      runs++
      return await exampleWork.handle(p)
    }
    const a = await engine.serveCapability(cap, handler, { ackWaitMs: 1_000, concurrency: 1 })
    const b = await engB.serveCapability(cap, handler, { ackWaitMs: 1_000, idlePollMs: 1_000 })
    const r = await engine.submit({ capability: cap, payload: { ms: 3_000 } })
    expect(await engine.waitForStatus(r.id)).toMatchObject({ state: "completed", attempts: 1, result: { sleptMs: 3_000 } })
    expect(runs).toBe(1)
    await a.stop()
    await b.stop()
    await engB.stop()
    await ncB.close()
  })

  it("task engine - a late result from a worker whose claim moved on is not recorded", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const race = await staleClaimRace(server, engine, cap, async () => "from A")
    const rec = await engine.waitForStatus(race.id)
    expect(rec).toMatchObject({ state: "completed", result: "from B", claimedBy: "B", attempts: 2 })
    await waitUntil(() => race.events.some((e) => e.type === "late_result" && e.id === race.id), { timeoutMs: 10_000 })
    expect((await engine.getStatus(race.id))?.result).toBe("from B")
    await race.stop()
  })
})

describe("task engine input from plain publishes", () => {
  it("task engine - a malformed plain publish ends in the dead-letter stream as malformed_payload and blocks nothing", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const client = await rawConnect(server.url)
    const js = jetstream(client)
    await js.publish(taskLaneSubject("default", cap, 5), "not json at all", { msgID: "garbage-1" })
    await js.publish(taskLaneSubject("default", cap, 5), JSON.stringify({ payload: 1, priority: 42 }), { msgID: "garbage-2" })
    await js.publish(taskLaneSubject("default", cap, 5), JSON.stringify({ payload: { ms: 1 } }), { msgID: "fine-1" })
    const w = await engine.serveCapability(cap, exampleWork.handle)
    expect(await engine.waitForStatus("fine-1")).toMatchObject({ state: "completed" })
    for (const id of ["garbage-1", "garbage-2"]) {
      expect(await engine.waitForStatus(id)).toMatchObject({ state: "dead_lettered", reason: "malformed_payload" })
    }
    const dl = await engine.deadLetters.show("garbage-1")
    expect(dl?.raw).toBe("not json at all")
    expect(dl?.lastError).toMatch(/not JSON/)
    expect((await engine.deadLetters.show("garbage-2"))?.lastError).toMatch(/priority/)
    await w.stop()
    await client.close()
  })

  it("task engine - a plain publish asking for another priority or a session is moved to its lane", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const client = await rawConnect(server.url)
    await jetstream(client).publish(taskLaneSubject("default", cap, 5), JSON.stringify({ payload: {}, priority: "critical", sessionId: "abc" }), { msgID: "moved-1" })
    const seen: Array<{ priority: number; session?: string }> = []
    const w = await engine.serveCapability(cap, async (_p, ctx) => {
      seen.push({ priority: ctx.priority, session: ctx.sessionId })
    })
    expect(await engine.waitForStatus("moved-1")).toMatchObject({ state: "completed", priority: 10, sessionId: "abc" })
    expect(seen).toEqual([{ priority: 10, session: "abc" }])
    await w.stop()
    await client.close()
  })

  it("task engine - a task whose deadline passed before it started is dead-lettered as deadline_exceeded", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const deadline = Date.now() + 50
    const r = await engine.submit({ capability: cap, payload: {}, deadline })
    await waitUntil(() => Date.now() > deadline, { intervalMs: 10 }) // no worker exists until it has passed
    let runs = 0
    const w = await engine.serveCapability(cap, async () => runs++)
    expect(await engine.waitForStatus(r.id)).toMatchObject({ state: "dead_lettered", reason: "deadline_exceeded" })
    expect(runs).toBe(0)
    await w.stop()
  })
})

describe("task status", () => {
  it("task status - the status subject answers any client, not_found for unknown ids", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const r = await engine.submit({ capability: cap, payload: {} })
    const client = await rawConnect(server.url)
    await waitUntil(async () => (await requestTaskStatus(client, r.id))?.state === "pending")
    const raw = decodeReply((await client.request(taskStatusSubject("default", r.id), "")).data)
    expect(raw.ok).toBe(true)
    expect(raw.ok && (raw.value as { id: string }).id).toBe(r.id)
    const missing = decodeReply((await client.request(taskStatusSubject("default", "nope"), "")).data)
    expect(missing.ok).toBe(false)
    expect(!missing.ok && missing.error.code).toBe("not_found")
    expect(await requestTaskStatus(client, "nope")).toBeNull()
    expect(taskStatusKey("default", r.id)).toBe(`default.${r.id}`)
    await client.close()
  })
})

describe("task status without a record", () => {
  it("task status - a submitted task not yet taken has no record and reads pending from the task stream, then its worker's outcome", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const before = await engine.submit({ capability: cap, payload: { n: 0 } }) // another waiting task ahead of it
    const r = await engine.submit({ capability: cap, payload: { n: 1 }, priority: "high", deadline: Date.now() + 600_000 })
    const kv = await new Kvm(nc).open(TASK_STATUS_BUCKET)
    expect(await kv.get(taskStatusKey("default", r.id))).toBeNull() // no stored write for the status at submit
    const rec = await engine.getStatus(r.id)
    expect(rec).toMatchObject({ id: r.id, tenant: "default", capability: cap, priority: 7, state: "pending", attempts: 0 })
    expect(rec?.deadline).toBeDefined()
    expect(rec?.submittedAt).toBeDefined()
    const client = await rawConnect(server.url)
    expect(await requestTaskStatus(client, r.id)).toMatchObject({ id: r.id, state: "pending", capability: cap })
    expect(await requestTaskStatus(client, before.id)).toMatchObject({ id: before.id, state: "pending", priority: 5 })
    expect(await requestTaskStatus(client, "never-submitted")).toBeNull()
    // a plain publish without Nats-Msg-Id: its id is s<seq>, and it waits as pending too
    const plain = await jetstream(client).publish(taskLaneSubject("default", cap, 5), JSON.stringify({ payload: { n: 2 } }))
    expect(await requestTaskStatus(client, `s${plain.seq}`)).toMatchObject({ state: "pending", capability: cap })
    await client.close()
    const w = await engine.serveCapability(cap, async (p) => p)
    expect(await engine.waitForStatus(r.id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed", result: { n: 1 } })
    expect(await engine.waitForStatus(`s${plain.seq}`, { timeoutMs: 10_000 })).toMatchObject({ state: "completed", result: { n: 2 } })
    expect(await engine.waitForStatus(before.id, { timeoutMs: 10_000 })).toMatchObject({ state: "completed" })
    await w.stop()
  })

  it("task status - a lookup reads a bounded number of waiting tasks: one further back reads unknown until a worker starts it", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const tenant = "scanbound"
    const js = jetstream(nc)
    const ids: string[] = []
    for (let i = 0; i < 6; i++) ids.push(`s${(await js.publish(taskLaneSubject(tenant, cap, 5), JSON.stringify({ payload: { i } }))).seq}`)
    const jsm = await jetstreamManager(nc)
    const kv = await new Kvm(nc).open(TASK_STATUS_BUCKET)
    expect(await lookUpTaskStatus(jsm, kv, tenant, ids[3], 4)).toMatchObject({ id: ids[3], tenant, state: "pending" })
    expect(await lookUpTaskStatus(jsm, kv, tenant, ids[5], 4)).toBeNull()
    expect(await lookUpTaskStatus(jsm, kv, tenant, ids[5])).toMatchObject({ id: ids[5], state: "pending" })
    expect(WAITING_SCAN_MAX).toBe(10_000)
    // the status subject's not_found says why a waiting task may read as unknown
    const missing = decodeReply((await nc.request(taskStatusSubject(tenant, "never-submitted"), "")).data)
    expect(!missing.ok && missing.error.message).toMatch(/waits behind 10,000 or more/)
    await jsm.streams.purge("ANTS_TASKS", { filter: `ants.${tenant}.task.>` })
  })

  it("task status - waitForStatus on pending answers a task still waiting without a record", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const r = await engine.submit({ capability: cap, payload: {} })
    expect(await engine.waitForStatus(r.id, { states: ["pending"], timeoutMs: 5_000 })).toMatchObject({ id: r.id, state: "pending" })
    await expect(engine.waitForStatus(r.id, { timeoutMs: 300 })).rejects.toThrow(/is pending, not/)
  })
})

describe("dead letters", () => {
  it("dead letters - list, show, resubmit (completes the second time) and purge", async ({ task }) => {
    const cap = capabilityFor(task.name)
    let healthy = false
    const w = await engine.serveCapability(cap, async () => {
      if (!healthy) throw new Error("dependency down")
      return "ok now"
    }, { maxAttempts: 2 })
    const one = await engine.submit({ capability: cap, payload: { n: 1 } })
    const two = await engine.submit({ capability: cap, payload: { n: 2 } })
    await engine.waitForStatus(one.id)
    await engine.waitForStatus(two.id)
    const dlq = deadLetters(nc)
    const listed = (await dlq.list()).filter((d) => d.capability === cap)
    expect(listed.map((d) => d.id).sort()).toEqual([one.id, two.id].sort())
    healthy = true
    const again = await dlq.resubmit(one.id)
    expect(again.id).toBe(one.id)
    const rec = await engine.waitForStatus(one.id)
    expect(rec).toMatchObject({ state: "completed", result: "ok now", attempts: 1, resubmits: 1 })
    expect(await dlq.show(one.id)).toBeNull()
    expect(await dlq.purge(two.id)).toBe(1)
    expect(await dlq.show(two.id)).toBeNull()
    expect((await dlq.list()).filter((d) => d.capability === cap)).toEqual([])
    await expect(dlq.resubmit(two.id)).rejects.toMatchObject({ _tag: "TaskEngineError", code: "not_found" })
    await w.stop()
  })

  it("dead letters - a resubmitted task that fails again at once keeps its new dead letter", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const w = await engine.serveCapability(cap, async () => {
      throw new Error("still down")
    }, { maxAttempts: 1 })
    const dlq = deadLetters(nc)
    const t = await engine.submit({ capability: cap, payload: {} })
    await waitUntil(() => dlq.show(t.id), { message: "the first dead letter" })
    // the worker waits idle on the task's lane: the task fails again within a few milliseconds,
    // before or after the resubmission removes the dead letter it was made from
    for (let i = 1; i <= 3; i++) {
      await dlq.resubmit(t.id)
      await waitUntil(async () => (await engine.getStatus(t.id))?.resubmits === i && (await engine.getStatus(t.id))?.state === "dead_lettered", { message: `dead-lettered again after resubmission ${i}` })
      // what the status says is in the dead-letter queue: the new one, not gone with the old
      expect(await dlq.show(t.id), `dead letter after resubmission ${i}`).toMatchObject({ id: t.id, resubmits: i })
    }
    expect((await dlq.list()).filter((d) => d.capability === cap)).toHaveLength(1)
    await w.stop()
  })
})
