import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { jetstream } from "@nats-io/jetstream"
import { headers } from "@nats-io/nats-core"
import type { NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { TaskHeaders, taskLaneSubject, taskScheduleSubject, type TaskRecord } from "../../subjects/tasks.ts"
import type { TaskEngine } from "../../runtime/tasks/engine.ts"
import { TaskRejected } from "../../runtime/tasks/errors.ts"
import { dlqCommand } from "../../runtime/cli/dlq-command.ts"
import { capabilityFor, staleClaimRace, startTaskFixture, stopTaskFixture } from "./helpers.ts"

let server: NatsServer
let nc: NatsConnection
let engine: TaskEngine

beforeAll(async () => void ({ server, nc, engine } = await startTaskFixture()))
afterAll(() => stopTaskFixture({ server, nc, engine }))

describe("settling tasks", () => {
  it("task engine - a late TaskRejected from a worker whose claim moved on leaves the completed record and no dead letter", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const race = await staleClaimRace(server, engine, cap, async () => {
      throw new TaskRejected("too late to refuse")
    })
    expect(await engine.waitForStatus(race.id)).toMatchObject({ state: "completed", result: "from B", claimedBy: "B" })
    await waitUntil(() => race.events.some((e) => e.type === "late_result" && e.id === race.id), { timeoutMs: 10_000 })
    expect(race.events.some((e) => e.type === "dead_lettered")).toBe(false)
    expect(await engine.getStatus(race.id)).toMatchObject({ state: "completed", result: "from B" })
    expect(await engine.deadLetters.show(race.id)).toBeNull()
    await race.stop()
  })

  it("task engine - a retry that starts after the deadline is dead-lettered with the attempts made and their last error", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const w = await engine.serveCapability(
      cap,
      async () => {
        throw new Error("upstream timed out")
      },
      // the retry comes after the deadline
      { backoff: { initialMs: 2_500, multiplier: 1, maxMs: 2_500 }, maxAttempts: 5 },
    )
    const r = await engine.submit({ capability: cap, payload: {}, deadline: Date.now() + 1_500 })
    const rec = await engine.waitForStatus(r.id, { timeoutMs: 10_000 })
    expect(rec).toMatchObject({ state: "dead_lettered", reason: "deadline_exceeded", attempts: 1, lastError: "upstream timed out" })
    expect(await engine.deadLetters.show(r.id)).toMatchObject({ attempts: 1, lastError: "upstream timed out", reason: "deadline_exceeded" })
    await w.stop()
  })

  it("task engine - a task done at once has its completed record by the time the worker reports it acked", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const seen: Array<Promise<TaskRecord | null>> = []
    const w = await engine.serveCapability(cap, async (p: { i: number }) => p.i, {
      onEvent: (e) => {
        if (e.type === "completed") seen.push(engine.getStatus(e.id))
      },
    })
    for (let i = 0; i < 20; i++) await engine.submit({ capability: cap, payload: { i } })
    await waitUntil(() => seen.length === 20, { timeoutMs: 10_000 })
    for (const rec of await Promise.all(seen)) expect(rec?.state).toBe("completed")
    await w.stop()
  })
})

describe("malformed scheduled tasks", () => {
  it("scheduled tasks - a scheduled message that does not decode is dead-lettered as malformed_payload, and resubmitting it is refused", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const js = jetstream(nc)
    const h = headers()
    h.set(TaskHeaders.TaskId, "sched-garbage-1")
    await js.publish(taskScheduleSubject("default", cap), "{not json", { headers: h })
    const h2 = headers()
    h2.set(TaskHeaders.TaskId, "sched-garbage-2")
    await js.publish(taskScheduleSubject("default", cap), JSON.stringify({ payload: 1, priority: 99 }), { headers: h2 })
    for (const id of ["sched-garbage-1", "sched-garbage-2"]) {
      expect(await engine.waitForStatus(id, { timeoutMs: 10_000 })).toMatchObject({ state: "dead_lettered", reason: "malformed_payload" })
    }
    const dl = await engine.deadLetters.show("sched-garbage-1")
    expect(dl).toMatchObject({ reason: "malformed_payload", attempts: 0, raw: "{not json", capability: cap })
    expect(dl?.lastError).toMatch(/not JSON/)
    expect((await engine.deadLetters.show("sched-garbage-2"))?.lastError).toMatch(/priority/)
    await expect(engine.deadLetters.resubmit("sched-garbage-1")).rejects.toMatchObject({ _tag: "TaskEngineError", code: "invalid_request", message: expect.stringMatching(/malformed/) })
    // from a shell: refused with exit 1 and the reason; `inspect` is `show`
    const lines: string[] = []
    const io = { nc, json: false, out: (s: string) => lines.push(s) }
    expect(await dlqCommand(["resubmit", "sched-garbage-1"], io)).toBe(1)
    expect(lines.join("\n")).toMatch(/cannot be resubmitted: its payload is malformed/)
    lines.length = 0
    expect(await dlqCommand(["inspect", "sched-garbage-1"], io)).toBe(0)
    expect(lines.join("\n")).toMatch(/dead letter sched-garbage-1[\s\S]*malformed_payload[\s\S]*raw body   \{not json/)
    expect(await engine.deadLetters.show("sched-garbage-1")).not.toBeNull()
  })

  it("dead letters - a malformed task from a lane is refused for resubmission too", async ({ task }) => {
    const cap = capabilityFor(task.name)
    await jetstream(nc).publish(taskLaneSubject("default", cap, 5), "nope", { msgID: "lane-garbage-1" })
    const w = await engine.serveCapability(cap, async () => "never")
    expect(await engine.waitForStatus("lane-garbage-1")).toMatchObject({ state: "dead_lettered", reason: "malformed_payload" })
    await expect(engine.deadLetters.resubmit("lane-garbage-1")).rejects.toMatchObject({ code: "invalid_request" })
    await w.stop()
  })
})
