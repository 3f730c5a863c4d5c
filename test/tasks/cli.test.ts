import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import type { NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import type { TaskEngine } from "../../runtime/tasks/engine.ts"
import { taskCommand } from "../../runtime/cli/task-command.ts"
import { dlqCommand } from "../../runtime/cli/dlq-command.ts"
import { exampleWork } from "../../actors/examples/worker.ts"
import { capabilityFor, startTaskFixture, stopTaskFixture } from "./helpers.ts"

let server: NatsServer
let nc: NatsConnection
let engine: TaskEngine

beforeAll(async () => void ({ server, nc, engine } = await startTaskFixture()))
afterAll(() => stopTaskFixture({ server, nc, engine }))

function io(json = false) {
  const lines: string[] = []
  return { io: { nc, json, out: (s: string) => lines.push(s) }, lines, text: () => lines.join("\n") }
}

describe("task command", () => {
  it("task command - submit prints the id, status prints the record (text and --json)", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const w = await engine.serveCapability(cap, exampleWork.handle)
    const s = io(true)
    expect(await taskCommand(["submit", cap, '{"ms":5}', "--priority", "high", "--key", "cli-1"], s.io)).toBe(0)
    const submitted = JSON.parse(s.lines[0])
    expect(submitted).toMatchObject({ id: "cli-1", state: "pending", duplicate: false })
    await engine.waitForStatus("cli-1")
    const t = io()
    expect(await taskCommand(["status", "cli-1"], t.io)).toBe(0)
    expect(t.text()).toMatch(/task cli-1: completed/)
    expect(t.text()).toMatch(/"sleptMs":5/)
    const j = io(true)
    expect(await taskCommand(["status", "cli-1", "--json"], j.io)).toBe(0)
    expect(JSON.parse(j.lines[0])).toMatchObject({ id: "cli-1", state: "completed", priority: 7 })
    const again = io()
    expect(await taskCommand(["submit", cap, '{"ms":5}', "--key", "cli-1"], again.io)).toBe(0)
    // a duplicate stores nothing: it says what the task is now (completed), not "pending"
    expect(again.text()).toMatch(/already submitted task cli-1 \(now completed\)/)
    await w.stop()
  })

  it("task command - scheduled and session options are passed through", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const s = io(true)
    expect(await taskCommand(["submit", cap, "{}", "--not-before", "+1h", "--session", "sess-1", "--key", "later"], s.io)).toBe(0)
    expect(JSON.parse(s.lines[0])).toMatchObject({ id: "later", state: "scheduled" })
    await waitUntil(async () => (await engine.getStatus("later"))?.sessionId === "sess-1")
  })

  it("task command - bad input exits 1 with what to do, usage errors exit 2", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const a = io()
    expect(await taskCommand(["submit", cap, "{}", "--priority", "11"], a.io)).toBe(1)
    expect(a.text()).toMatch(/priority/)
    const b = io()
    expect(await taskCommand(["submit", cap, "{not json"], b.io)).toBe(2)
    expect(b.text()).toMatch(/not JSON.*quote it/)
    const c = io(true)
    expect(await taskCommand(["status", "nope"], c.io)).toBe(1)
    expect(JSON.parse(c.lines[0]).error.code).toBe("not_found")
    const d = io()
    expect(await taskCommand(["submit", cap, "{}", "--not-before", "soon"], d.io)).toBe(2)
    expect(d.text()).toMatch(/ISO-8601/)
    const e = io()
    expect(await taskCommand(["frobnicate"], e.io)).toBe(2)
    expect(await taskCommand([], io().io)).toBe(2)
    const f = io()
    expect(await taskCommand(["submit", "bad cap", "{}"], f.io)).toBe(1)
    expect(f.text()).toMatch(/capability/)
  })
})

describe("dlq command", () => {
  it("dlq command - list, show, resubmit and purge", async ({ task }) => {
    const cap = capabilityFor(task.name)
    const w = await engine.serveCapability(cap, exampleWork.handle, { maxAttempts: 1 })
    const a = await engine.submit({ capability: cap, payload: { fail: true }, idempotencyKey: "dead-a" })
    const b = await engine.submit({ capability: cap, payload: { fail: true }, idempotencyKey: "dead-b" })
    await engine.waitForStatus(a.id)
    await engine.waitForStatus(b.id)
    const l = io()
    expect(await dlqCommand(["list"], l.io)).toBe(0)
    expect(l.text()).toMatch(/dead-a .*max_attempts/)
    const sh = io()
    expect(await dlqCommand(["show", "dead-a"], sh.io)).toBe(0)
    expect(sh.text()).toMatch(/last error example.work failed on purpose/)
    const js = io(true)
    expect(await dlqCommand(["show", "dead-b"], js.io)).toBe(0)
    expect(JSON.parse(js.lines[0])).toMatchObject({ id: "dead-b", attempts: 1, reason: "max_attempts", payload: { fail: true } })
    const rs = io()
    expect(await dlqCommand(["resubmit", "dead-a"], rs.io)).toBe(0)
    expect(rs.text()).toMatch(/resubmitted task dead-a/)
    await waitUntil(async () => (await engine.getStatus("dead-a"))?.resubmits === 1 && (await engine.getStatus("dead-a"))?.state === "dead_lettered")
    const p = io(true)
    expect(await dlqCommand(["purge"], p.io)).toBe(0)
    expect(JSON.parse(p.lines[0]).purged).toBeGreaterThanOrEqual(2)
    const empty = io()
    expect(await dlqCommand(["list"], empty.io)).toBe(0)
    expect(empty.text()).toMatch(/no dead letters/)
    const nf = io()
    expect(await dlqCommand(["show", "dead-a"], nf.io)).toBe(1)
    expect(nf.text()).toMatch(/ants dlq list/)
    expect(await dlqCommand(["resubmit"], io().io)).toBe(2)
    await w.stop()
  })
})
