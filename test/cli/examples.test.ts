/**
 * Every example printed by the README and by `--help` works as printed, against a real
 * nats-server and a node hosting the example agents (actors/examples/), in the order printed
 * (a `task status order-42` follows the submit that made order-42).
 *
 * Most lines run in this process through the CLI's `main(argv, io)`, with `--nats` pointed at
 * the test's server (the one thing a reader's machine has differently); `ants node` lines start
 * the real binary (which also proves `bin.mjs` works), wait for its ready banner, run the
 * banner's own `try:` line with the real binary, and stop it with SIGINT. Long runners are
 * bounded or skipped, each with its reason below.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { assistant, counter, echo, forager, worker } from "../../actors/examples/index.ts"
import { COMMANDS } from "../../runtime/cli/commands.ts"
import { helpText, main } from "../../runtime/cli/main.ts"
import { tryAs, tryLine } from "../../runtime/cli/node-command.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { shellWords } from "./shell-words.ts"
import { BIN, runCli } from "../helpers/cli.ts"

const ROOT = new URL("../../", import.meta.url).pathname
/** Embedded servers leave their URL file in TMPDIR: this file's own, apart from anyone else's. */
const TMP = mkdtempSync(join(tmpdir(), "ants-cli-examples-"))
const isolated = { NATS_URL: "", TMPDIR: TMP }

/** Lines not run, and why. A stale entry (no such line any more) fails the test. */
const SKIPPED: Record<string, string> = {
  "npx ants node --nats nats://127.0.0.1:4222 --nkey auth/node.nk --auth-dir auth --agents ./my-agents.ts":
    "a recipe for a server of the reader's own (one, or a cluster of three hosts named ants-a, ants-b and ants-c) started on the auth/ folder the line before writes, with the reader's own agent module; test/security/cli-auth.test.ts starts a node the same way (--nkey, --auth-dir) on such a server, and test/cluster runs the same nats-cluster/ files on loopback",
  "npx ants demo":
    "the same run as `npx ants demo --actors 10 --messages 5 --json` below (which runs every step) at 50 actors x 40 concurrent asks; on a loaded 2-core machine its node can miss its own heartbeat for 1.5 s, and the demo then reports the asks refused (exit 1), a matter of load this file must not depend on",
  "npx ants bench ask tell --rounds 3 --concurrency 1,16": "a full measuring run of two scenarios (minutes); `npx ants bench ask --quick` below runs the same path, and the help test checks these options parse",
  "npx ants bench --quick --out bench-results/smoke": "every scenario (about two minutes); test/bench/quick.test.ts runs `ants bench --quick` already",
  "npx ants chaos isolated-node --quick": "builds network namespaces (root) and runs a minute; test/partition/chaos-command.test.ts runs this line as printed",
  "npx ants chaos split --runs 5 --json": "five splits on hosts of their own (root, several minutes); test/partition/split.test.ts runs the same scenario (ANTS_PARTITION_RUNS repeats it)",
  "npx ants gateway --agents ./actors/examples/index.ts --listen :0":
    "a server that runs until SIGINT; test/gateway/gateway-cli.test.ts runs this line as printed in its own process, asks through it with the token it prints, and stops it",
  "npx ants chaos --pace long": "every scenario at the long pace (root, about a quarter of an hour); the partition suite runs each scenario",
}

/** What a line needs to find before it runs: the dead letter the dlq examples show. */
const PRECONDITIONS: Array<{ when: RegExp; wait: (node: AntsNode) => Promise<unknown> }> = [
  {
    when: /^npx ants dlq (show|resubmit) broken-1\b/,
    wait: (node) => waitUntil(async () => (await node.tasks!.getStatus("broken-1"))?.state === "dead_lettered", { timeoutMs: 20_000, message: "broken-1 to be dead-lettered" }),
  },
]

/** `npx ants ...` lines of the README: every line of its sh blocks, and inline code without placeholders. */
function readmeExamples(): string[] {
  const md = readFileSync(join(ROOT, "README.md"), "utf8")
  const lines: string[] = []
  for (const block of md.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const l of block[1]!.split("\n")) if (l.startsWith("npx ants")) lines.push(l)
  }
  // inline spans are examples unless they show a placeholder (<type>, [options], a|b, ...)
  const prose = md.replace(/```[\s\S]*?```/g, "")
  for (const m of prose.matchAll(/`(npx ants [^`]+)`/g)) {
    const l = m[1]!.replace(/\s+/g, " ")
    if (!/[<[|…]|\.\.\./.test(l)) lines.push(l)
  }
  return lines
}

/** A line as the words the CLI gets, with the shell comment dropped. */
function argvOf(line: string): string[] {
  const words = shellWords(line)
  expect(words.slice(0, 2), line).toEqual(["npx", "ants"])
  return words.slice(2)
}

/** Points a client command at the test's server: `--nats X` is replaced, or added. */
function withNats(argv: string[], url: string): string[] {
  const out = argv.filter((a) => !a.startsWith("--nats="))
  const i = out.indexOf("--nats")
  if (i >= 0) out.splice(i, 2)
  return [...out, "--nats", url]
}

async function inProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (s) => void out.push(s), err: (s) => void err.push(s) })
  return { code, out: out.join("\n"), err: err.join("\n") }
}

const spawnCli = (args: string[], env: Record<string, string>) => runCli(args, { ...process.env, ...env }, ROOT)

let server: NatsServer
/** A second server for `ants node` examples given --nats, so they do not take partitions from the test's node. */
let nodeServer: NatsServer
let node: AntsNode
/** Lines run (or started: `ants node` lines run beside the others), by their text. */
const ran = new Map<string, Promise<string>>()
const children = new Set<ChildProcess>()

beforeAll(async () => {
  ;[server, nodeServer] = await Promise.all([natsFixture(), natsFixture()])
  node = await startNode({
    agents: [echo, counter, worker, forager, assistant],
    nats: server.url,
    logger: () => {},
    // the assistant keeps its turns in memory where the node has it: not in the repository's .ants/memory
    memory: false,
    // quick retries, so `{"fail":true}` reaches the dead-letter queue in well under a second
    tasks: { workerDefaults: { maxAttempts: 3, backoff: { initialMs: 50, multiplier: 2, maxMs: 200 } } },
  })
  // the `ants node` lines take longest (a process each): start them all now, beside the rest
  for (const l of [...readmeExamples(), ...helpExamples()]) if (argvOf(l)[0] === "node") void runExample(l)
})

/** The examples `ants --help` and every command's --help print. */
function helpExamples(): string[] {
  const top = helpText().split("\nexamples:\n")[1]!.split("\n").map((l) => l.trim())
  return [...top, ...COMMANDS.flatMap((c) => c.examples)]
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL")
  await node?.drain()
  await Promise.all([server?.stop(), nodeServer?.stop()])
  rmSync(TMP, { recursive: true, force: true })
})

/**
 * `ants node ...`: the real binary, until its ready banner; then the banner's `try:` line (the
 * real binary again, as a reader would paste it); then SIGINT, which drains it with exit 0.
 */
async function runNodeExample(line: string, argv: string[]): Promise<string> {
  const given = argv.includes("--nats") || argv.some((a) => a.startsWith("--nats="))
  const args = given ? withNats(argv, nodeServer.url) : argv
  const env = isolated
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } })
  children.add(proc)
  let stderr = ""
  proc.stderr.on("data", (d) => (stderr += d))
  const exited = new Promise<number | null>((r) => proc.on("exit", (c) => r(c)))
  const json = args.includes("--json")
  const tryCommand = await new Promise<string | undefined>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout })
    let ready = false
    rl.on("line", (l) => {
      if (json && JSON.parse(l).event === "ready") resolve(undefined)
      if (!json && l.includes(" ready on ")) ready = true
      const t = /^ {2}try: (npx ants .*)$/.exec(l)
      if (ready && t) resolve(t[1])
    })
    void exited.then((c) => reject(new Error(`${line}: exited ${c} before it was ready: ${stderr}`)))
  })
  let note = "ready"
  if (tryCommand !== undefined) {
    const r = await spawnCli(argvOf(tryCommand), env)
    expect(r.code, `${tryCommand}: ${r.stderr}`).toBe(0)
    expect(JSON.parse(r.stdout), tryCommand).toMatchObject({ ok: true })
    note = `ready; its try line ${tryCommand} answered ${r.stdout.replace(/\s+/g, " ").trim()}`
  }
  proc.kill("SIGINT")
  expect(await exited, `${line}: ${stderr}`).toBe(0)
  return note
}

const normalized = (line: string) => line.replace(/\s+#.*$/, "").replace(/\s+/g, " ").trim()

/**
 * Runs one printed line and checks it exits 0. An `ants node` line is only started, in its
 * own process on its own server: it runs beside the lines after it, and `settled()` awaits it.
 */
async function runExample(line: string): Promise<void> {
  const key = normalized(line)
  if (ran.has(key) || key in SKIPPED) return
  const argv = argvOf(line)
  if (argv[0] === "node") {
    const started = runNodeExample(line, argv)
    started.catch(() => undefined) // awaited by settled()
    ran.set(key, started)
    return
  }
  for (const p of PRECONDITIONS) if (p.when.test(key)) await p.wait(node)
  const command = COMMANDS.find((c) => c.name === argv[0])
  let note: string
  if (argv[0] === "bench" || argv[0] === "auth" || argv[0] === "memory") {
    // the results (bench) or the principals (auth init) or the embedded memory database (.ants/memory) go to a fresh temporary folder instead of the repository
    const cwd = process.cwd()
    process.chdir(mkdtempSync(join(TMP, `${argv[0]}-`)))
    try {
      const r = await inProcess(argv)
      expect(r.code, `${line}\n${r.err}`).toBe(0)
      note = r.out.split("\n").pop() ?? ""
    } finally {
      process.chdir(cwd)
    }
  } else {
    // demo and the informational lines run as printed; client commands talk to the test's node
    const args = command?.connects ? withNats(argv, server.url) : argv
    const r = await inProcess(args)
    expect(r.code, `${line}\nstdout: ${r.out}\nstderr: ${r.err}`).toBe(0)
    note = r.out.slice(0, 200)
  }
  ran.set(key, Promise.resolve(note))
}

/** Waits for every line started so far (the `ants node` ones) and fails with the first failure. */
async function settled(): Promise<void> {
  await Promise.all(ran.values())
}

// the README's lines take about 100 s on a quiet 2-core runner (a node start, a demo, dozens of
// commands): the limit leaves room for a loaded one
describe("cli examples", () => {
  it("cli examples - every `npx ants` line of the README runs as printed against a node with the example agents", async () => {
    const lines = readmeExamples()
    expect(lines.length).toBeGreaterThan(10)
    for (const l of lines) await runExample(l)
    await settled()
    // the commands the README's examples cover
    const covered = new Set(lines.map((l) => argvOf(l)[0]))
    for (const c of ["node", "ask", "tell", "wake", "nodes", "actors", "cost", "pheromone", "task", "dlq", "--help"]) expect(covered, c).toContain(c)
  }, 300_000)

  it("cli examples - every example printed by `ants --help` and each command's --help runs as printed against a node with the example agents", async () => {
    const all = helpExamples()
    expect(all.length).toBeGreaterThan(COMMANDS.length)
    for (const l of all) await runExample(l)
    await settled()
    for (const l of all) expect(ran.has(l) || l in SKIPPED, l).toBe(true)
    const used = new Set([...readmeExamples(), ...all].map(normalized))
    for (const s of Object.keys(SKIPPED)) expect(used, `stale skip: ${s}`).toContain(s)
  }, 300_000)

  it("cli - the ready banner suggests, for each example type, a request its protocol accepts", async () => {
    const lines = [echo, counter, worker, forager].map((d) => tryLine(d))
    expect(lines[0]).toBe(`npx ants ask ants.default.agent.echo.a1.Say '{"text":"hi"}'`)
    expect(lines[1]).toBe(`npx ants ask ants.default.agent.counter.c1.Add '{"n":1}'`.replace("c1", "a1"))
    // worker serves tasks only (no message tags): the runtime's _Inspect is what it answers
    expect(lines[2]).toBe("npx ants ask ants.default.agent.worker.a1._Inspect")
    for (const l of lines) {
      const r = await inProcess(withNats(argvOf(l), server.url))
      expect(r.code, `${l}: ${r.out} ${r.err}`).toBe(0)
      expect(JSON.parse(r.out).ok).toBe(true)
    }
  })

  it("cli - on a server of one's own (--auth-dir), the banner asks as the operator, of a tenant that has a key", () => {
    const dir = mkdtempSync(join(TMP, "auth-"))
    expect(tryAs(dir)).toEqual({ tenant: "default", env: "" })
    mkdirSync(join(dir, "tenants"))
    for (const f of ["operator.nk", "tenants/globex.nk", "tenants/acme.nk"]) writeFileSync(join(dir, f), "SU...\n")
    const as = tryAs(dir)
    expect(as).toEqual({ tenant: "acme", env: `NATS_NKEY=${join(dir, "operator.nk")} ` })
    expect(`${as.env}${tryLine(echo, as.tenant)}`).toBe(`NATS_NKEY=${join(dir, "operator.nk")} npx ants ask ants.acme.agent.echo.a1.Say '{"text":"hi"}'`)
    writeFileSync(join(dir, "tenants/default.nk"), "SU...\n")
    expect(tryAs(dir).tenant).toBe("default")
  })
})
