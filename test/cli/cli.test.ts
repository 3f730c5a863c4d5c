import { spawn, type ChildProcess } from "node:child_process"
import { createInterface } from "node:readline"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

const BIN = new URL("../../runtime/cli/bin.mjs", import.meta.url).pathname
const EXAMPLES = new URL("../../actors/examples/index.ts", import.meta.url).pathname

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } })
    let stdout = ""
    let stderr = ""
    p.stdout.on("data", (d) => (stdout += d))
    p.stderr.on("data", (d) => (stderr += d))
    p.on("exit", (code) => resolve({ code, stdout, stderr }))
  })
}

/** Starts `ants node --json` and resolves with its ready event. */
function startNodeProcess(args: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; ready: any; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, "node", "--agents", EXAMPLES, "--json", ...args], { env: { ...process.env, ...env } })
    const lines: string[] = []
    let stderr = ""
    proc.stderr!.on("data", (d) => (stderr += d))
    createInterface({ input: proc.stdout! }).on("line", (l) => {
      lines.push(l)
      const ev = JSON.parse(l)
      if (ev.event === "ready") resolve({ proc, ready: ev, lines })
    })
    proc.on("exit", (code) => reject(new Error(`node exited early with ${code}: ${stderr}`)))
  })
}

const exited = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.on("exit", (c) => r(c))))

describe("ants CLI", () => {
  let server: NatsServer
  beforeAll(async () => {
    server = await natsFixture()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it("cli - --help lists every command", async () => {
    const r = await run(["--help"])
    expect(r.code).toBe(0)
    for (const c of ["node", "ask", "tell", "wake", "demo", "bench", "pheromone", "task", "dlq", "nodes", "actors"]) expect(r.stdout).toContain(c)
  })

  it("cli - node joins a given server, answers ask and tell, and drains on SIGTERM with exit 0", async () => {
    const { proc, ready, lines } = await startNodeProcess(["--nats", server.url])
    expect(ready.embedded).toBe(false)
    expect(ready.routing).toBe("partitioned")
    const tell = await run(["tell", "ants.default.agent.counter.cli.Add", '{"n":2}', "--nats", server.url])
    expect(tell.code).toBe(0)
    let ask
    for (let i = 0; i < 50; i++) {
      ask = await run(["ask", "ants.default.agent.counter.cli.Add", '{"n":1}', "--nats", server.url, "--json"])
      if (JSON.parse(ask.stdout).value?.total >= 3) break
    }
    expect(JSON.parse(ask!.stdout).ok).toBe(true)
    const bad = await run(["ask", "ants.default.agent.counter.cli.Add", '{"n":"x"}', "--nats", server.url, "--json"])
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stdout).error.code).toBe("invalid_message")
    const wake = await run(["wake", "counter", "w1", "--nats", server.url, "--json"])
    expect(JSON.parse(wake.stdout)).toMatchObject({ ok: true, value: { type: "counter", id: "w1" } })
    proc.kill("SIGTERM")
    expect(await exited(proc)).toBe(0)
    expect(lines.some((l) => JSON.parse(l).event === "stopped")).toBe(true)
  })

  it("cli - node with no --nats starts an embedded server that client commands find", async () => {
    const { proc, ready } = await startNodeProcess([], { NATS_URL: "" })
    expect(ready.embedded).toBe(true)
    const env = { NATS_URL: "" }
    const r = await run(["ask", "ants.default.agent.echo.e.Say", '{"text":"embedded"}', "--json"], env)
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, value: { text: "embedded" } })
    proc.kill("SIGINT")
    expect(await exited(proc)).toBe(0)
  })

  it("cli - a missing nats-server binary gets an install hint", async () => {
    const r = await run(["node", "--agents", EXAMPLES], { NATS_URL: "", NATS_SERVER_BIN: "/nonexistent/nats-server" })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain("apt-get install -y nats-server")
  })

  it("cli - errors say what to do", async () => {
    expect((await run(["ask", "not.a.subject"])).stderr).toContain("ants.<tenant>.agent.<type>.<id>.<Tag>")
    expect((await run(["node"])).stderr).toContain("--agents <module> is required")
    expect((await run(["ask", "ants.default.agent.echo.e.Say", "{bad"])).stderr).toContain("must be JSON")
    expect((await run(["frobnicate"])).stderr).toContain("npx ants --help")
  })
})
