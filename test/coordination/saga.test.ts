import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { createWorkspace, type Workspace } from "../../runtime/stigmergy/mod.ts"
import { defineSaga, sagaRunner, type EscalationRequest } from "../../runtime/coordination/mod.ts"
import { coordinationNode } from "./fixtures/node.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { ledger } from "./fixtures/agents.ts"
import { tripSaga } from "./fixtures/trip-saga.ts"

const fx = coordinationNode()
const nats = fx.nats
let ws: Workspace
const escalations: EscalationRequest[] = []
const receipts: Array<Record<string, unknown>> = []

beforeAll(() => {
  ws = createWorkspace(nats.nc, { actor: "test/sagas" })
})
afterAll(async () => {
  await ws?.close()
})

const logOf = (id: string) => fx.node.client.ref(ledger, id).ask("Log", {})
const runner = (owner: string, staleMs = 10_000) =>
  sagaRunner(
    { workspace: ws, escalate: async (r) => void escalations.push(r), record: async (_t, _k, d) => void receipts.push(d) },
    { sagas: [tripSaga(fx.node.client)], owner, heartbeatMs: 200, staleMs },
  )

describe("sagas", () => {
  it("saga - all steps done: completed, with each step's result journalled", async () => {
    const out = await runner("r1").start(tripSaga(fx.node.client), { ledger: "l-ok" }, { id: "s-ok" })
    expect(out.status).toBe("completed")
    expect(out.results).toEqual({ reserve: { n: 1 }, charge: { n: 2 }, ship: { n: 3 } })
    expect(await logOf("l-ok")).toEqual(["reserve", "charge", "ship"])
    const j = await runner("r1").get("s-ok")
    expect(j?.steps.map((s) => s.state)).toEqual(["done", "done", "done"])
    expect(receipts.filter((r) => r.id === "s-ok" && r.what === "run")).toHaveLength(3)
  })

  it("saga - a failed step runs the compensations of the completed steps in reverse order", async () => {
    const out = await runner("r1").start(tripSaga(fx.node.client), { ledger: "l-undo", failAt: "ship" }, { id: "s-undo" })
    expect(out).toMatchObject({ status: "compensated", failedStep: "ship", error: "ship refused" })
    expect(await logOf("l-undo")).toEqual(["reserve", "charge", "undo-charge", "undo-reserve"])
    expect(out.journal.steps.map((s) => s.state)).toEqual(["compensated", "compensated", "failed"])
  })

  it("saga - a compensation that keeps failing leaves the saga failed and escalates; resume tries it again", async () => {
    const r = runner("r1")
    const out = await r.start(tripSaga(fx.node.client), { ledger: "l-stuck", failAt: "ship", undoFailsAt: "reserve" }, { id: "s-stuck" })
    expect(out.status).toBe("failed")
    expect(out.journal.steps.map((s) => s.state)).toEqual(["compensation_failed", "compensated", "failed"])
    expect(escalations.find((e) => e.artifact === "sagas.s-stuck")).toMatchObject({ subject: "saga", reason: "compensation_failed" })
    expect(await logOf("l-stuck")).toEqual(["reserve", "charge", "undo-charge"])
    // the input still says undoing reserve fails: a resume tries again (and fails again), never re-runs undo-charge
    const again = await r.resume("s-stuck")
    expect(again.status).toBe("failed")
    expect(again.journal.steps[0]!.compensationAttempts).toBe(4)
    expect(await logOf("l-stuck")).toEqual(["reserve", "charge", "undo-charge"])
  })

  it("saga - a coordinator killed mid-saga is resumed by another from its journal, and compensates in order", async () => {
    const script = new URL("./fixtures/saga-coordinator.ts", import.meta.url).pathname
    const child = spawn(process.execPath, ["--import", "tsx", script, nats.server.url, "s-crash", "l-crash"], { stdio: ["ignore", "pipe", "inherit"] })
    const exited = new Promise((r) => child.on("exit", r))
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (l) => l === "ready" && resolve())
      child.on("exit", (c) => reject(new Error(`coordinator exited ${c}`)))
    })
    const r = runner("r2", 5000)
    // the child is inside `charge` (it hangs there): reserve is done and journalled
    await waitUntil(async () => (await r.get("s-crash"))?.steps[1]?.state === "running", { timeoutMs: 30_000, message: "the child coordinator in step charge" })
    child.kill("SIGKILL")
    await exited
    // its heartbeat is fresh: nobody may take the saga yet
    await expect(r.resume("s-crash")).rejects.toMatchObject({ _tag: "CoordinationError", code: "busy" })
    const [out] = await waitUntil(async () => {
      const done = await r.resumeStale()
      return done.length > 0 ? done : undefined
    }, { timeoutMs: 20_000, message: "the stale saga resumed" })
    expect(out).toMatchObject({ id: "s-crash", status: "compensated", failedStep: "ship" })
    expect(out!.journal.previousOwners).toEqual(["child-coordinator"])
    expect(out!.journal.owner).toBe("r2")
    // charge was cut short before its effect in the child, run again on resume (its second attempt)
    expect(out!.journal.steps.find((s) => s.name === "charge")?.attempts).toBe(2)
    expect(await logOf("l-crash")).toEqual(["reserve", "charge", "undo-charge", "undo-reserve"])
  })

  it("saga - a step past its timeout fails (its signal aborted) and the saga compensates", async () => {
    let aborted = false
    const ask = (op: string) => fx.node.client.ask({ agent: "ledger", id: "l-timeout" }, "Do", { op })
    const slow = defineSaga({
      name: "slow",
      steps: [
        { name: "a", run: () => ask("a"), compensate: () => ask("undo-a") },
        { name: "b", timeoutMs: 300, run: (_i, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve((aborted = true)))) },
      ],
    })
    const out = await sagaRunner({ workspace: ws }, { sagas: [slow] }).start(slow, {}, { id: "s-timeout" })
    expect(out).toMatchObject({ status: "compensated", failedStep: "b", error: "timed out after 300 ms" })
    expect(aborted).toBe(true)
    expect(await logOf("l-timeout")).toEqual(["a", "undo-a"])
  })

  it("saga - bad definitions and reused ids are refused", async () => {
    expect(() => defineSaga({ name: "x", steps: [] })).toThrow(/at least one step/)
    expect(() => defineSaga({ name: "x", steps: [{ name: "a", run: () => 1 }, { name: "a", run: () => 2 }] })).toThrow(/twice/)
    expect(() => defineSaga({ name: "x.y", steps: [{ name: "a", run: () => 1 }] })).toThrow(/one token/)
    await expect(runner("r1").start(tripSaga(fx.node.client), { ledger: "l-ok" }, { id: "s-ok" })).rejects.toMatchObject({ code: "duplicate" })
    await expect(runner("r1").resume("nope")).rejects.toMatchObject({ code: "not_found" })
  })
})
