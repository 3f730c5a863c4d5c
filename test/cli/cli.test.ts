import { spawn, type ChildProcess } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { connect as tcpConnect } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort } from "../../runtime/server/nats-server.ts"
import { connect } from "@nats-io/transport-node"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { isProcessAlive as alive } from "../../runtime/cli/embedded-url.ts"
import { BIN, runCli } from "../helpers/cli.ts"

const EXAMPLES = new URL("../../actors/examples/index.ts", import.meta.url).pathname
const SLOW = new URL("./fixtures/slow-agent.ts", import.meta.url).pathname

/**
 * A temporary folder of this test file's own: embedded nodes leave their URL file there, so
 * they neither see nor clobber the file of a node someone else runs on this machine.
 */
const TMP = mkdtempSync(join(tmpdir(), "ants-cli-test-"))
const URL_DIR = join(TMP, `ants-${userInfo().uid}`)
const URL_FILE = join(URL_DIR, "embedded.url")
/** Writes the URL file as a node would: 0600 in a 0700 folder. */
const writeUrlFile = (content: object) => {
  mkdirSync(URL_DIR, { recursive: true, mode: 0o700 })
  writeFileSync(URL_FILE, JSON.stringify(content), { mode: 0o600 })
}
const isolated = { NATS_URL: "", TMPDIR: TMP }

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { ...process.env, ...env })

/** Starts `ants node --json` and resolves with its ready event. */
function startNodeProcess(
  args: string[],
  env: Record<string, string> = {},
  opts: { agents?: string; detached?: boolean } = {},
): Promise<{ proc: ChildProcess; ready: any; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, "node", "--agents", opts.agents ?? EXAMPLES, "--json", ...args], {
      env: { ...process.env, ...env },
      detached: opts.detached ?? false,
    })
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

/** Whether nothing listens on the port any more (a refused connection, not a timeout). */
const refuses = (port: number) =>
  new Promise<boolean>((r) => {
    const sock = tcpConnect(port, "127.0.0.1")
    sock.once("connect", () => (sock.destroy(), r(false)))
    sock.once("error", (e: NodeJS.ErrnoException) => r(e.code === "ECONNREFUSED"))
  })

/** The embedded servers' temporary stores in this file's TMPDIR. */
const stores = () => readdirSync(TMP).filter((f) => f.startsWith("ants-nats-"))

const exited = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.on("exit", (c) => r(c))))

describe("ants CLI", () => {
  let server: NatsServer
  beforeAll(async () => {
    server = await natsFixture()
  })
  afterAll(async () => {
    await server?.stop()
    rmSync(TMP, { recursive: true, force: true })
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
    const { proc, ready } = await startNodeProcess([], isolated)
    expect(ready.embedded).toBe(true)
    expect(existsSync(URL_FILE)).toBe(true)
    const r = await run(["ask", "ants.default.agent.echo.e.Say", '{"text":"embedded"}', "--json"], isolated)
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, value: { text: "embedded" } })
    proc.kill("SIGINT")
    expect(await exited(proc)).toBe(0)
    expect(existsSync(URL_FILE)).toBe(false)
    expect(alive(ready.serverPid)).toBe(false)
  })

  it("cli - two embedded nodes on one machine: commands reach the newer, then the older again when the newer stops", async () => {
    const first = await startNodeProcess([], isolated)
    const second = await startNodeProcess([], isolated)
    const reached = async () => {
      const r = await run(["nodes", "--json"], isolated)
      expect(r.code, r.stderr).toBe(0)
      return (JSON.parse(r.stdout).nodes as Array<{ node: string }>).map((n) => n.node)
    }
    try {
      expect(await reached()).toEqual([second.ready.node])
      second.proc.kill("SIGINT")
      expect(await exited(second.proc)).toBe(0)
      // before, the newer node's stop removed the only file, and the older one was found no more
      expect(existsSync(URL_FILE)).toBe(true)
      expect(await reached()).toEqual([first.ready.node])
    } finally {
      for (const p of [second.proc, first.proc]) if (p.exitCode === null) p.kill("SIGINT")
      await Promise.all([exited(first.proc), exited(second.proc)])
    }
    expect(existsSync(URL_FILE)).toBe(false)
    expect(readdirSync(URL_DIR).filter((f) => f.endsWith(".url"))).toEqual([])
  }, 60_000)

  it("cli - Ctrl-C to the whole process group drains the node: the ask in flight is answered, exit 0", async () => {
    // detached: the node leads its own process group, as a shell job in a terminal does
    const { proc, ready } = await startNodeProcess([], isolated, { agents: SLOW, detached: true })
    expect(ready.embedded).toBe(true)
    // the embedded server authenticates: the URL file holds the run's credentials
    const run = JSON.parse(readFileSync(URL_FILE, "utf8")) as { user: string; password: string }
    const nc = await connect({ servers: ready.url, user: run.user, pass: run.password })
    try {
      const started = nc.subscribe("ants.default.topic.slow.started", { max: 1 })
      await nc.flush()
      const reply = nc.request("ants.default.agent.slow.s1.Work", new TextEncoder().encode('{"ms":1500}'), { timeout: 20_000 })
      for await (const _ of started) break
      process.kill(-proc.pid!, "SIGINT") // what a terminal's Ctrl-C does: SIGINT to every process of the group
      const r = await reply
      expect(JSON.parse(new TextDecoder().decode(r.data))).toEqual({ ok: true, value: { done: true } })
      expect(await exited(proc)).toBe(0)
      expect(alive(ready.serverPid)).toBe(false)
    } finally {
      await nc.close()
    }
  }, 60_000)

  it("cli - the embedded server (in its own process group) dies with the node on a hang-up", async () => {
    const { proc, ready } = await startNodeProcess([], isolated)
    expect(alive(ready.serverPid)).toBe(true)
    // SIGHUP (the terminal closed) is not drained: the node ends, and must take its server along
    proc.kill("SIGHUP")
    await new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.on("exit", () => r())))
    expect(proc.signalCode).toBe("SIGHUP")
    await waitUntil(() => !alive(ready.serverPid), { message: `embedded nats-server ${ready.serverPid} to be gone` })
    rmSync(URL_FILE, { force: true })
  }, 60_000)

  it("cli - the embedded server and its temporary store go when the node is killed with SIGKILL", async () => {
    const before = new Set(stores())
    const { proc, ready } = await startNodeProcess([], isolated)
    const port = Number(new URL(ready.url).port)
    const mine = stores().filter((f) => !before.has(f))
    expect(mine).toHaveLength(1)
    expect(await refuses(port)).toBe(false)
    // kill -9 runs no handler in the node: only the watchdog can stop the server now
    proc.kill("SIGKILL")
    await exited(proc)
    await waitUntil(() => refuses(port), { message: `embedded nats-server on port ${port} to refuse connections` })
    await waitUntil(() => !existsSync(join(TMP, mine[0])), { message: `store ${mine[0]} to be removed` })
    expect(alive(ready.serverPid)).toBe(false)
    rmSync(URL_FILE, { force: true })
  }, 60_000)

  it("cli - a stale embedded-URL file (its node is gone) is ignored with a note", async () => {
    const dead = spawn(process.execPath, ["-e", ""])
    await exited(dead)
    const port = await freePort()
    writeUrlFile({ url: `nats://127.0.0.1:${port}`, pid: dead.pid, serverPid: dead.pid })
    const r = await run(["ask", "ants.default.agent.echo.e.Say", '{"text":"x"}', "--timeout", "500"], isolated)
    expect(r.stderr).toContain(`not trusting ${URL_FILE}: no process ${dead.pid} is running`)
    expect(r.stderr).toContain("trying nats://127.0.0.1:4222")
    expect(r.stderr).not.toContain(`at nats://127.0.0.1:${port} (`)
    expect(existsSync(URL_FILE)).toBe(false)
  })

  it("cli - an embedded-URL file whose server refuses connections is dropped with a note", async () => {
    const port = await freePort()
    // the file is in order and names a live nats-server (this file's), but its URL answers nothing
    writeUrlFile({ url: `nats://127.0.0.1:${port}`, pid: process.pid, serverPid: server.pid })
    const r = await run(["tell", "ants.default.agent.echo.e.Say", '{"text":"x"}'], isolated)
    expect(r.stderr).toContain(`the embedded nats-server at nats://127.0.0.1:${port}`)
    expect(r.stderr).toContain("does not answer")
    expect(r.stderr).toContain("the file is stale, trying nats://127.0.0.1:4222")
    expect(existsSync(URL_FILE)).toBe(false)
  })

  it("cli - --mailbox and --replicas must be whole numbers of at least 1", async () => {
    for (const [flag, value] of [["--mailbox", "0"], ["--mailbox", "1.5"], ["--mailbox", "lots"], ["--replicas", "0"]]) {
      const r = await run(["node", "--agents", EXAMPLES, flag, value, "--nats", server.url])
      expect(r.code, `${flag} ${value}`).toBe(2)
      expect(r.stderr).toContain(`${flag} must be a whole number of at least 1, got "${value}"`)
      expect(r.stderr).toContain("usage: ants node")
    }
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
    // a token the server would drop the whole connection for is refused before connecting
    const long = await run(["ask", `ants.default.agent.echo.${"x".repeat(5000)}.Say`, "{}"])
    expect(long.code).toBe(2)
    expect(long.stderr).toContain("at most 1024")
  })

  it("cli - an agents module in a CommonJS project (npm init's default) gets the fix named", async () => {
    const project = mkdtempSync(join(TMP, "cjs-"))
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "mine", version: "1.0.0", type: "commonjs" }))
    // an ES-module-only dependency, as ants is
    mkdirSync(join(project, "node_modules", "esm-only"), { recursive: true })
    writeFileSync(join(project, "node_modules", "esm-only", "package.json"), JSON.stringify({ name: "esm-only", type: "module", exports: "./index.js" }))
    writeFileSync(join(project, "node_modules", "esm-only", "index.js"), "export const agents = []\n")
    writeFileSync(join(project, "my-agents.ts"), 'import { agents } from "esm-only"\nexport { agents }\n')
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, "node", "--agents", "./my-agents.ts"], { cwd: project, env: { ...process.env, ...isolated } })
      let stderr = ""
      p.stderr!.on("data", (d) => (stderr += d))
      p.on("exit", (code) => resolve({ code, stderr }))
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("npm pkg set type=module")
  }, 60_000)
})
