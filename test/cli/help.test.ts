/**
 * The CLI explains itself: `--help` of every command shows every option its parser accepts (with
 * the value it takes and its default) and examples, without connecting anywhere; `--version`;
 * bad values, unknown options and unknown commands are usage errors (exit 2) that say what is
 * expected. Nothing here needs NATS: the point is that none of it connects (the one spawned
 * help is given a NATS URL where nothing listens).
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { BENCH_USAGE, parseBenchArgs } from "../../bench/options.ts"
import { SCENARIOS } from "../../bench/scenarios/index.ts"
import { INSPECT_DEFAULT_TIMEOUT_MS } from "../../runtime/cluster/inspect-client.ts"
import { parseCommand, type CommandSpec } from "../../runtime/cli/command-spec.ts"
import {
  ACTORS,
  BENCH,
  COMMANDS,
  DECAY_CURVE_NAMES,
  MEMORY_KIND_NAMES,
  NODE,
  NODES,
  PHEROMONE,
  PHEROMONE_TYPE_NAMES,
  PRIORITY_NAMES,
  STRENGTH_LEVEL_NAMES,
  TASK,
} from "../../runtime/cli/commands.ts"
import { main } from "../../runtime/cli/main.ts"
import type { AnyOpt } from "../../runtime/cli/option.ts"
import { freePort } from "../../runtime/server/nats-server.ts"
import { NODE_DEFAULTS } from "../../runtime/node/node.ts"
import { MEMORY_KINDS } from "../../runtime/memory/types.ts"
import { DECAY_CURVES, PHEROMONE_TYPES, STRENGTH_LEVELS } from "../../subjects/pheromones.ts"
import { PRIORITIES } from "../../subjects/tasks.ts"
import { runCli } from "../helpers/cli.ts"
import { CREDENTIAL_FLAGS } from "../../runtime/cli/client-connection.ts"

const PKG = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (s) => void out.push(s), err: (s) => void err.push(s) })
  return { code, out: out.join("\n"), err: err.join("\n") }
}

const spawnCli = (args: string[], env: Record<string, string> = {}) => runCli(args, { ...process.env, ...env })

const options = (c: CommandSpec): Array<[string, AnyOpt]> => Object.entries(c.options)

/** Arguments that satisfy a command's form and required options, for the sub-command an option belongs to. */
function argsFor(c: CommandSpec, except?: string, sub?: string): string[] {
  const argv: string[] = []
  if (c.subcommands) {
    const name = sub ?? Object.keys(c.subcommands)[0]!
    argv.push(name, ...Array<string>(c.subcommands[name]!.min).fill("x"))
  } else argv.push(...Array<string>(c.args?.min ?? 0).fill("x"))
  for (const [name, o] of options(c)) if (o.fields.isRequired && name !== except) argv.push(`--${name}=x`)
  return argv
}

/** A value of the wrong form for each kind of option that has a form. */
const BAD: Partial<Record<AnyOpt["fields"]["kind"], string>> = {
  int: "x",
  duration: "soon",
  time: "soon",
  enum: "cubic",
  json: "{bad",
  "int-list": "1,x",
  custom: "huge-x",
}

describe("ants --help", () => {
  it("cli help - every command's --help shows each option the parser accepts, with its value and default, and examples", async () => {
    for (const c of COMMANDS) {
      const r = await cli([c.name, "--help"])
      expect(r.code, c.name).toBe(0)
      expect(r.err).toBe("")
      expect(r.out).toContain(`usage: ants ${c.name}`)
      // help wraps long lines: compare with whitespace folded
      const flat = r.out.replace(/\s+/g, " ")
      for (const [name, o] of options(c)) {
        expect(r.out, `${c.name} --${name}`).toContain(`--${name}${o.value ? ` ${o.value}` : ""}`)
        expect(flat, `${c.name} --${name}`).toContain(o.fields.description.replace(/\s+/g, " "))
        const d = o.defaultLabel()
        if (d !== undefined) expect(flat, `${c.name} --${name} default`).toContain(`(default: ${d})`)
        // the parser takes every option the help shows (a value of the wrong form is another error)
        const sub = o.fields.only?.[0]
        const argv = [...argsFor(c, name, sub), o.isFlag ? `--${name}` : `--${name}=1`]
        let message = ""
        try {
          parseCommand(c, argv)
        } catch (e) {
          message = (e as Error).message
        }
        expect(message, `${c.name} --${name}`).not.toContain("unknown option")
      }
      for (const sub of Object.keys(c.subcommands ?? {})) expect(r.out, `${c.name} ${sub}`).toMatch(new RegExp(`^  ${sub}\\b`, "m"))
      const examples = r.out.slice(r.out.indexOf("\nexamples:\n")).split("\n").slice(2)
      expect(examples.length, `${c.name} examples`).toBeGreaterThan(0)
      for (const e of examples) expect(e).toMatch(new RegExp(`^  npx ants ${c.name}( |$)`))
      // -h is --help, anywhere among the arguments
      expect((await cli([c.name, ...argsFor(c), "-h"])).out).toBe(r.out)
    }
  })

  it("cli help - task --help shows --deadline, pheromone --help evaporate, dlq --help every sub-command", async () => {
    const task = (await cli(["task", "--help"])).out
    expect(task).toMatch(/--deadline <T>\s+dead-lettered \(deadline_exceeded\) if not started by this time/)
    expect(task).toContain("--not-before <T>")
    const ph = (await cli(["pheromone", "--help"])).out
    expect(ph).toContain("ants pheromone evaporate <key> | --location <L> --id <X> [options]")
    expect(ph).toMatch(/^ {2}evaporate\s+remove a trail now/m)
    const dlq = (await cli(["dlq", "--help"])).out
    for (const s of ["list", "show <id>", "resubmit <id>", "purge [<id>]"]) expect(dlq).toContain(`ants dlq ${s} [options]`)
    expect(dlq).toContain("show (inspect)")
    expect((await cli(["help", "dlq"])).out).toBe(dlq)
  })

  it("cli help - ants --help lists schedules; schedules --help shows --type, --json and what each line says", async () => {
    expect((await cli(["--help"])).out).toMatch(/^ {2}schedules\s+every schedule the nodes run: next firing, missed-firing policy, auto-sleep, last run$/m)
    const h = (await cli(["schedules", "--help"])).out
    expect(h).toMatch(/--type <type>\s+only this agent type/)
    expect(h).toContain("--json")
    expect(h).toMatch(/the policy\s+for firings missed while no node ran the type/)
    expect(h).toContain("npx ants schedules --type counter --json")
  })

  it("cli help - bench --help lists every option bench/options.ts parses, with its defaults, and every scenario", async () => {
    const help = (await cli(["bench", "--help"])).out
    const benchFlags = new Set([...BENCH_USAGE.matchAll(/--([a-z-]+)/g)].map((m) => m[1]!))
    const declared = new Set(Object.keys(BENCH.options))
    expect([...benchFlags].sort()).toEqual([...declared].sort())
    for (const f of benchFlags) expect(help).toContain(`--${f}`)
    for (const s of SCENARIOS) expect(help).toContain(s.name)
    // each declared option is one the benchmark's own parser takes, with the same defaults
    const sample: Record<string, string> = { int: "3", "int-list": "1,2", text: "x" }
    for (const [name, o] of options(BENCH)) {
      if (name === "help") continue
      expect(() => parseBenchArgs(o.isFlag ? [`--${name}`] : [`--${name}`, sample[o.fields.kind]!]), name).not.toThrow()
    }
    const defaults = parseBenchArgs([])
    expect(defaults.payload).toBe(BENCH.options.payload.fields.defaultValue)
    expect(defaults.concurrency).toEqual(BENCH.options.concurrency.fields.defaultValue)
  })

  it("cli help - --help prints the full usage without connecting anywhere (the real binary, NATS pointing nowhere)", async () => {
    const nowhere = `nats://127.0.0.1:${await freePort()}`
    const r = await spawnCli(["pheromone", "watch", "--help", "--nats", nowhere], { NATS_URL: nowhere })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe((await cli(["pheromone", "--help"])).out + "\n")
    expect(r.stderr).toBe("")
  })

  it("cli - --version and -V print the package.json version (the real binary too)", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = await cli([flag])
      expect(r.code).toBe(0)
      expect(r.out).toBe(PKG.version)
    }
    const r = await spawnCli(["--version"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(`${PKG.version}\n`)
    expect((await cli(["--help"])).out).toContain("npx ants --version")
  })

  it("cli - the lists and defaults the declarations print match the runtime's", () => {
    expect([...PRIORITY_NAMES]).toEqual(Object.keys(PRIORITIES))
    expect([...STRENGTH_LEVEL_NAMES]).toEqual(Object.keys(STRENGTH_LEVELS))
    expect([...PHEROMONE_TYPE_NAMES]).toEqual([...PHEROMONE_TYPES])
    expect([...DECAY_CURVE_NAMES]).toEqual([...DECAY_CURVES])
    expect([...MEMORY_KIND_NAMES]).toEqual([...MEMORY_KINDS])
    expect(NODE.options.mailbox.defaultLabel()).toBe(String(NODE_DEFAULTS.mailbox))
    expect(NODE.options["passivate-after"].defaultLabel()).toMatch(new RegExp(`^${NODE_DEFAULTS.passivateAfterMs}\\b`))
    expect(NODES.options.timeout.fields.defaultValue).toBe(INSPECT_DEFAULT_TIMEOUT_MS)
    expect(ACTORS.options.timeout.fields.defaultValue).toBe(INSPECT_DEFAULT_TIMEOUT_MS)
    expect(TASK.options.priority.defaultLabel()).toBe("normal")
  })

  it("cli - every command that connects takes --nats and every credential flag (the README says each does)", () => {
    const connecting = COMMANDS.filter((c) => c.connects)
    expect(connecting.map((c) => c.name)).toContain("turn")
    for (const c of connecting) for (const f of ["nats", ...CREDENTIAL_FLAGS]) expect(Object.keys(c.options), `${c.name} --${f}`).toContain(f)
  })
})

describe("ants usage errors", () => {
  it("cli - ants demo --actors x is a usage error saying what is expected (it ran with NaN)", async () => {
    for (const argv of [["demo", "--actors", "x"], ["demo", "--messages", "0"], ["demo", "--actors", "2.5"]]) {
      const r = await cli(argv)
      expect(r.code, argv.join(" ")).toBe(2)
      expect(r.err).toContain(`${argv[1]} must be a whole number of at least 1, got "${argv[2]}"`)
      expect(r.err).toContain("usage: ants demo [options]")
      expect(r.out).toBe("")
    }
  })

  it("cli - every numeric, duration, time, enum and JSON option of every command refuses a malformed value with exit 2", async () => {
    let checked = 0
    for (const c of COMMANDS) {
      for (const [name, o] of options(c)) {
        const bad = BAD[o.fields.kind]
        if (bad === undefined) continue
        const argv = [c.name, ...argsFor(c, name, o.fields.only?.[0]), `--${name}=${bad}`]
        const r = await cli(argv)
        expect(r.code, argv.join(" ")).toBe(2)
        expect(r.err, argv.join(" ")).toMatch(new RegExp(`--${name}.*(must|is not)`))
        expect(r.err).toContain(`usage: ants ${c.name}`)
        expect(r.err).not.toContain("NaN")
        checked++
      }
    }
    // node, demo, ask, wake, nodes, actors, cost, pheromone, task, dlq and bench have such options
    expect(checked).toBeGreaterThanOrEqual(30)
    // a few messages in full
    expect((await cli(["ask", "ants.default.agent.echo.e1.Say", "--timeout", "soon"])).err).toContain(
      '--timeout must be a whole number of at least 1, got "soon" (milliseconds; or with a unit: 500ms, 30s, 5m, 1h)',
    )
    expect((await cli(["task", "submit", "example.work", "--not-before", "soon"])).err).toMatch(/--not-before "soon" is not a time: use ISO-8601/)
    expect((await cli(["pheromone", "deposit", "--decay", "cubic"])).err).toContain('--decay must be one of linear, exponential, got "cubic"')
    expect((await cli(["pheromone", "detect", "--min", "2"])).err).toContain('--min must be a number from 0 to 1 or one of trace, low, medium, high, critical, got "2"')
    expect((await cli(["task", "submit", "example.work", "--priority", "urgent"])).err).toContain("--priority must be one of critical, high, normal, low, background or a whole number from 1 to 10")
    expect((await cli(["bench", "--concurrency", "1,x"])).err).toContain('--concurrency must be a whole number of at least 1, got "x"')
  })

  it("cli - a usage error with --json is one JSON document on stdout", async () => {
    const r = await cli(["task", "submit", "example.work", "--deadline", "later", "--json"])
    expect(r.code).toBe(2)
    expect(r.err).toBe("")
    const doc = JSON.parse(r.out)
    expect(doc).toMatchObject({ ok: false, error: { code: "usage", message: expect.stringContaining("--deadline"), details: { usage: expect.stringContaining("usage: ants task submit") } } })
  })

  it("cli - unknown options, sub-commands and commands name the valid ones and point at --help", async () => {
    const r = await cli(["frobnicate"])
    expect(r.code).toBe(2)
    for (const c of COMMANDS) expect(r.err).toContain(c.name)
    expect(r.err).toContain("npx ants --help")
    expect(r.err).toContain("npx ants <command> --help")
    for (const c of COMMANDS) {
      const u = await cli([c.name, ...argsFor(c), "--frobnicate"])
      expect(u.code, c.name).toBe(2)
      expect(u.err).toContain("unknown option --frobnicate")
      for (const [name] of options(c)) expect(u.err, `${c.name} --${name}`).toContain(`--${name}`)
      expect(u.err).toContain(`npx ants ${c.name} --help`)
      if (c.subcommands) {
        const s = await cli([c.name, "frobnicate"])
        expect(s.code).toBe(2)
        expect(s.err).toContain(`unknown ${c.name} command "frobnicate": use ${Object.keys(c.subcommands).join(", ")}`)
        expect(s.err).toContain(`npx ants ${c.name} --help`)
      }
    }
    // an option of another sub-command, a missing argument, a value left out
    expect((await cli(["pheromone", "evaporate", "--count", "3"])).err).toContain("--count is for pheromone watch, not evaporate")
    expect((await cli(["wake"])).err).toContain("wake needs <type> [<id>]")
    expect((await cli(["ask", "ants.default.agent.echo.e1.Say", "--timeout"])).err).toContain("--timeout needs a value: <ms>")
    expect((await cli(["help", "frobnicate"])).code).toBe(2)
    expect(PHEROMONE.subcommands).toBeDefined()
  })
})
