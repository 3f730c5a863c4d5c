/** The shell path end to end: `ants node --agents` serves tasks, `ants task` / `ants dlq` drive them, `ants demo` runs them (and its stigmergy step). */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { BIN, runCli } from "../helpers/cli.ts"

const EXAMPLES = new URL("../../actors/examples/index.ts", import.meta.url).pathname
// embedded servers leave their URL file in TMPDIR: keep this file's apart from anyone else's
const TMP = mkdtempSync(join(tmpdir(), "ants-task-cli-"))
const isolated = { NATS_URL: "", TMPDIR: TMP }

let server: NatsServer
let nodeProc: ChildProcess | undefined

const run = (args: string[]) => runCli(args, { ...process.env, ...isolated })

beforeAll(async () => {
  server = await natsFixture()
})

afterAll(async () => {
  if (nodeProc && nodeProc.exitCode === null) nodeProc.kill("SIGKILL")
  await server?.stop()
  rmSync(TMP, { recursive: true, force: true })
})

describe("tasks from the shell", () => {
  it("ants node - a node started with the example agents serves example.work: submit, status, a due --not-before task, a dead letter to inspect", async () => {
    const proc = spawn(process.execPath, [BIN, "node", "--agents", EXAMPLES, "--nats", server.url, "--json"], { env: { ...process.env, ...isolated } })
    nodeProc = proc
    let stderr = ""
    proc.stderr.on("data", (d) => (stderr += d))
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: proc.stdout }).on("line", (l) => {
        if (JSON.parse(l).event === "ready") resolve()
      })
      proc.on("exit", (code) => reject(new Error(`node exited ${code}: ${stderr}`)))
    })
    const nats = ["--nats", server.url]
    expect((await run(["task", "submit", "example.work", '{"ms":5}', "--key", "sh-1", ...nats])).code).toBe(0)
    expect((await run(["task", "submit", "example.work", '{"ms":1}', "--key", "sh-later", "--not-before", "+1s", ...nats])).code).toBe(0)
    expect((await run(["task", "submit", "example.work", '{"fail":true}', "--key", "sh-poison", ...nats])).code).toBe(0)
    const state = async (id: string) => {
      const r = await run(["task", "status", id, "--json", ...nats])
      return r.code === 0 ? JSON.parse(r.stdout) : undefined
    }
    await waitUntil(async () => (await state("sh-1"))?.state === "completed", { timeoutMs: 15_000 })
    expect(await state("sh-1")).toMatchObject({ result: { sleptMs: 5 }, attempts: 1 })
    await waitUntil(async () => (await state("sh-later"))?.state === "completed", { timeoutMs: 15_000 })
    // default retries: 1 s then 2 s, dead-lettered on the third attempt
    await waitUntil(async () => (await state("sh-poison"))?.state === "dead_lettered", { timeoutMs: 20_000 })
    const inspect = await run(["dlq", "inspect", "sh-poison", ...nats])
    expect(inspect.code).toBe(0)
    expect(inspect.stdout).toMatch(/reason\s+max_attempts[\s\S]*attempts\s+3/)
    proc.kill("SIGTERM")
    const code = await new Promise<number | null>((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.on("exit", (c) => r(c))))
    expect(code).toBe(0)
  }, 60_000)

  it("ants demo - its --json summary: three tasks completed, the failing one dead-lettered after 3 attempts, each task trail taken by one forager, a note recalled from memory", async () => {
    const r = await run(["demo", "--json", "--actors", "5", "--messages", "5"])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split("\n").pop()!)
    expect(summary.tasksCorrect).toBe(true)
    const states = Object.values(summary.tasks as Record<string, { state: string; attempts: number }>)
    expect(states.filter((s) => s.state === "completed").length).toBe(3)
    expect(states.filter((s) => s.state === "dead_lettered")).toEqual([{ state: "dead_lettered", attempts: 3 }])
    // step 6: six task trails, each taken by exactly one forager, the danger location only after its trail expired
    const swarm = summary.swarm
    expect(swarm).toMatchObject({ correct: true, dangerAvoided: true, dangerEvaporation: "expired", tasksLeft: 0, takenTrailsHeard: 6 })
    const taken = Object.values(swarm.taken as Record<string, string[]>).flat()
    expect(taken.sort()).toEqual(["billing.invoices", "billing.refunds", "orders.asia", "orders.eu", "orders.us", "search.index"])
    expect(Object.values(swarm.work as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(6)
    expect(Object.keys(swarm.reinforcements).sort()).toEqual(["billing", "orders", "search"])
    expect(swarm.gini).toBeGreaterThanOrEqual(0)
    expect(swarm.gini).toBeLessThan(1)
    // step 7: assistants think through the offline provider: tool calls reached the counter, each turn journaled, model calls counted,
    // and the reader's turn (model, tool, model) replayed from the journal with no divergence
    expect(summary.assistants).toMatchObject({ correct: true, total: 6, offline: true, turnsJournaled: 4, replay: { stepsUsed: 3, stepsRecorded: 3, divergences: 0 } })
    expect(summary.assistants.modelCalls).toBeGreaterThanOrEqual(8)
    // step 8: the notebook's notes went into the embedded memory store and the right one came back
    expect(summary.memory).toMatchObject({ correct: true, recalled: "the invoices queue is drained every night at two" })
    expect(summary.memory.backend).toMatch(/PGlite|PostgreSQL/)
    expect(summary.memory.stored).toBeGreaterThanOrEqual(4)
  }, 60_000)

  it("ants demo - its stigmergy step prints who took which trail, the danger expiring, the reinforcements and a Gini coefficient", async () => {
    const r = await run(["demo", "--actors", "2", "--messages", "2"])
    expect(r.code, r.stderr).toBe(0)
    const step = r.stdout.slice(r.stdout.indexOf("\n6. stigmergy"))
    expect(step).toMatch(/task trails \(linear over 10 s\): orders\.eu 0\.\d\d needs orders/)
    expect(step).toMatch(/danger trail at billing\.refunds: 0\.70, TTL 2000 ms/)
    expect(step.match(/^ {2}f\d took [a-z.]+ \(deposited 0\.\d\d, read 0\.\d{3} at age \d+\.\d\d s\)/gm)).toHaveLength(6)
    expect(step).toMatch(/left at billing\.refunds: task 0\.\d\d, danger 0\.\d\d; taken while the danger lived: no/)
    expect(step).toMatch(/watcher: the danger trail at billing\.refunds expired/)
    // the danger location is taken in round 2, after the expiry
    expect(step.slice(step.indexOf("round 2"))).toMatch(/f2 took billing\.refunds/)
    expect(step).toMatch(/watcher heard 6 task trail\(s\) evaporate as foragers took them; task trails left: 0/)
    expect(step).toMatch(/success trails at demo\.\w+: .*orders \d\.\d\d \(reinforced \d+ time\(s\)\)/)
    expect(step).toMatch(/work per forager, counted from the workspace's 6 done artifact\(s\): f1 \d, f2 \d, f3 \d, f4 \d; Gini 0\.\d\d/)
    expect(step).not.toContain("NOT")
  }, 60_000)
})
