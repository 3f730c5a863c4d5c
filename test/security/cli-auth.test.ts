/**
 * The command line and the client against the shipped, authenticated configuration, as the
 * README prints it: a node started with the node principal's key and the auth folder, the
 * operator's CLI by flag or by NATS_NKEY, a tenant's client by its own key, and anonymous
 * commands refused with a hint. The ready event names the server's published vulnerabilities.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawn, type ChildProcess } from "node:child_process"
import { createInterface } from "node:readline"
import { connectClient } from "../../runtime/client/connect-client.ts"
import { confWithTenants, type AuthConf } from "../helpers/nats-conf.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { BIN, runCli } from "../helpers/cli.ts"

const EXAMPLES = new URL("../../actors/examples/index.ts", import.meta.url).pathname
let auth: AuthConf
let server: NatsServer
let node: ChildProcess
let ready: any
const clean = { ...process.env, NATS_URL: "", NATS_NKEY: "", NATS_USER: "", NATS_PASSWORD: "", NATS_TOKEN: "", NATS_CREDS: "" }

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { ...clean, ...env })

beforeAll(async () => {
  auth = confWithTenants(["acme", "globex"])
  server = await natsFixture({ config: auth.config })
  node = spawn(process.execPath, [BIN, "node", "--agents", EXAMPLES, "--nats", server.url, "--nkey", auth.seed("node"), "--auth-dir", auth.authDir, "--json"], { env: clean })
  let stderr = ""
  node.stderr!.on("data", (d) => (stderr += d))
  ready = await new Promise((resolve, reject) => {
    createInterface({ input: node.stdout! }).on("line", (l) => {
      const ev = JSON.parse(l)
      if (ev.event === "ready") resolve(ev)
    })
    node.on("exit", (c) => reject(new Error(`node exited ${c}: ${stderr}`)))
  })
}, 120_000)

afterAll(async () => {
  if (node && node.exitCode === null) {
    const exited = new Promise((r) => node.once("exit", r))
    node.kill("SIGTERM")
    await exited
  }
  await server?.stop()
})

describe("cli auth", () => {
  it("cli auth - the node's ready event names the server's published vulnerabilities and their fixes", () => {
    expect(ready.url).toBe(server.url)
    const ids = (ready.guarantees.vulnerabilities as Array<{ id: string; fixedIn: string[] }>).map((v) => v.id)
    if (server.version === "2.9.10") expect(ids).toEqual(["CVE-2023-47090", "CVE-2025-30215"])
    expect(ready.guarantees.warnings.filter((w: string) => w.includes("CVE-")).length).toBe(ids.length)
  })

  it("cli auth - the operator's key works as a flag and as NATS_NKEY; no credentials gets a hint", async () => {
    const byFlag = await run(["ask", "ants.acme.agent.echo.e1.Say", '{"text":"op"}', "--nats", server.url, "--nkey", auth.seed("operator"), "--json"])
    expect(JSON.parse(byFlag.stdout)).toEqual({ ok: true, value: { text: "op" } })
    const byEnv = await run(["nodes", "--json"], { NATS_URL: server.url, NATS_NKEY: auth.seed("operator") })
    expect(byEnv.code).toBe(0)
    expect(JSON.parse(byEnv.stdout).nodes.map((n: { node: string }) => n.node)).toEqual([ready.node])
    const anonymous = await run(["ask", "ants.acme.agent.echo.e1.Say", "{}", "--nats", server.url])
    expect(anonymous.code).not.toBe(0)
    expect(anonymous.stderr).toMatch(/Authorization Violation/i)
    expect(anonymous.stderr).toContain("NATS_NKEY")
  }, 120_000)

  it("cli auth - the CLI run with a tenant's key makes its reply inboxes where that tenant may (the key found in principals.json)", async () => {
    const env = { NATS_URL: server.url, NATS_NKEY: auth.seed("acme") }
    const ask = await run(["ask", "ants.acme.agent.echo.e3.Say", '{"text":"by key"}', "--json", "--timeout", "3s"], env)
    expect(ask.stderr).toBe("")
    expect(JSON.parse(ask.stdout)).toEqual({ ok: true, value: { text: "by key" } })
    const detect = await run(["pheromone", "detect", "--tenant", "acme", "--location", "cli.auth", "--json"], env)
    expect(detect.code).toBe(0)
    // NATS_INBOX_PREFIX names the prefix outright: the tenant's key with the default one is refused
    const wrong = await run(["ask", "ants.acme.agent.echo.e3.Say", '{"text":"x"}', "--timeout", "1500ms"], { ...env, NATS_INBOX_PREFIX: "_INBOX" })
    expect(wrong.code).not.toBe(0)
  }, 60_000)

  it("cli auth - a tenant's client connects with its own key and inbox, and reaches its own agents only", async () => {
    const acme = await connectClient({ nats: server.url, tenant: "acme", credentials: { nkey: auth.seed("acme") } })
    try {
      expect(await acme.ask({ agent: "echo", id: "e2" }, "Say", { text: "mine" })).toEqual({ text: "mine" })
      await expect(acme.ask({ tenant: "globex", agent: "echo", id: "e2" }, "Say", { text: "theirs" }, { timeoutMs: 1500 })).rejects.toThrow()
    } finally {
      await acme.close()
    }
  })
})
