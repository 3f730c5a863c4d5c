/**
 * The `ants` command line. Every command is declared once in commands.ts; `--help` (of the CLI
 * and of each command) is printed from those declarations without loading the runtime or
 * connecting anywhere, and every option is checked before a command's module is loaded. Client
 * commands then connect (client-connection.ts says where they find NATS). Exit codes: 0 ok,
 * 1 the command failed or was refused, 2 a usage error (or no NATS to talk to).
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { NatsConnection } from "@nats-io/nats-core"
import type { CommandSpec, Parsed } from "./command-spec.ts"
import { ACTORS, APPROVALS, ASK, AUDIT, AUTH, BENCH, CHAOS, COMMANDS, COST, DEMO, DLQ, GATEWAY, MCP, MEMORY, NODE, NODES, PHEROMONE, POLICY, SCHEDULES, SCHEMA, TASK, TELL, TENANT, TOOL, TURN, WAKE } from "./commands.ts"
import type { Io } from "./io.ts"
import { runCommand } from "./run-command.ts"
import { isUsageError } from "./usage-error.ts"

export type { Io }

const stdio: Io = {
  out: (s) => process.stdout.write(s.endsWith("\n") ? s : s + "\n"),
  err: (s) => process.stderr.write(s.endsWith("\n") ? s : s + "\n"),
}

/** What a command's module gives the CLI: an optional check before connecting, and the run. */
interface Loaded {
  check?(parsed: Parsed<any>): void
  run(parsed: Parsed<any>, io: Io & { readonly json: boolean; readonly nc: NatsConnection }, argv: ReadonlyArray<string>): Promise<number | void>
}

/** Each command's module, loaded only to run it (help and parsing need none of them). */
const MODULES: Record<string, () => Promise<Loaded>> = {
  [NODE.name]: async () => {
    const m = await import("./node-command.ts")
    return { check: (p) => m.checkNode(p), run: m.runNode }
  },
  [DEMO.name]: async () => ({ run: (await import("./demo.ts")).runDemo }),
  [ASK.name]: async () => {
    const m = await import("./message-commands.ts")
    return { check: (p) => void m.checkMessage(p.args), run: m.runAsk }
  },
  [TELL.name]: async () => {
    const m = await import("./message-commands.ts")
    return { check: (p) => void m.checkMessage(p.args), run: m.runTell }
  },
  [WAKE.name]: async () => {
    const m = await import("./message-commands.ts")
    return { check: (p) => void m.wakeSubject(p), run: m.runWake }
  },
  [SCHEDULES.name]: async () => ({ run: (await import("./schedules-command.ts")).runSchedules }),
  [NODES.name]: async () => ({ run: (await import("./cluster-commands.ts")).runNodes }),
  [ACTORS.name]: async () => ({ run: (await import("./cluster-commands.ts")).runActors }),
  [COST.name]: async () => ({ run: (await import("./cost-command.ts")).runCost }),
  [TURN.name]: async () => ({ run: (await import("./turn-command.ts")).runTurn }),
  [PHEROMONE.name]: async () => ({ run: (await import("./pheromone-command.ts")).runPheromone }),
  [TASK.name]: async () => ({ run: (await import("./task-command.ts")).runTask }),
  [DLQ.name]: async () => ({ run: (await import("./dlq-command.ts")).runDlq }),
  [MEMORY.name]: async () => {
    const m = await import("./memory-command.ts")
    return { check: (p) => m.checkMemory(p), run: m.runMemory }
  },
  [TOOL.name]: async () => {
    const m = await import("./tool-command.ts")
    return { check: (p) => m.checkTool(p), run: m.runTool }
  },
  [MCP.name]: async () => ({ run: (await import("./mcp-command.ts")).runMcp }),
  [TENANT.name]: async () => ({ run: (await import("./tenant-command.ts")).runTenant }),
  [AUDIT.name]: async () => ({ run: (await import("./audit-command.ts")).runAudit }),
  [POLICY.name]: async () => ({ run: (await import("./policy-command.ts")).runPolicy }),
  [APPROVALS.name]: async () => ({ run: (await import("./approvals-command.ts")).runApprovals }),
  [AUTH.name]: async () => ({ run: (await import("./auth-command.ts")).runAuth }),
  [BENCH.name]: async () => ({ run: (await import("./bench-command.ts")).runBench }),
  [CHAOS.name]: async () => ({ run: (await import("./chaos-command.ts")).runChaosCommand }),
  [GATEWAY.name]: async () => {
    const m = await import("./gateway-command.ts")
    return { check: (p) => m.checkGateway(p), run: m.runGateway }
  },
  [SCHEMA.name]: async () => ({ run: (await import("./schema-command.ts")).runSchema }),
}

const byName = new Map<string, CommandSpec<any>>(COMMANDS.map((c) => [c.name, c]))

/** The package's version, from the package.json above this module (source or built). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string }
      if (pkg.name === "ants" && pkg.version) return pkg.version
    } catch {
      // not here: look one folder up
    }
    dir = dirname(dir)
  }
  return "unknown"
}

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return [
    "ants: an actor runtime for AI-agent swarms on NATS",
    "",
    "usage: npx ants <command> [options]",
    "       npx ants <command> --help   every option of a command, with examples",
    "       npx ants --version",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "NATS: --nats <url[,url]>, else NATS_URL, else a local node's embedded server, else nats://127.0.0.1:4222.",
    "Credentials: --nkey, --creds, --user/--password, --token, --tls-ca/--tls-cert/--tls-key, in the URL",
    "(nats://user:password@host), or NATS_NKEY, NATS_CREDS, NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CA, NATS_CERT, NATS_KEY;",
    "a tenant's key (per the principals.json `ants auth init` wrote) takes replies on _INBOX_<tenant>, or NATS_INBOX_PREFIX.",
    "Every command that prints data takes --json. Exit codes: 0 ok, 1 failed or refused, 2 usage.",
    "",
    "examples:",
    "  npx ants node --agents ./actors/examples/index.ts",
    `  npx ants ask ants.default.agent.echo.e1.Say '{"text":"hi"}'`,
    "  npx ants task --help",
  ].join("\n")
}

const unknownCommand = (name: string) =>
  `unknown command "${name}"; the commands are ${COMMANDS.map((c) => c.name).join(", ")}. Run \`npx ants --help\` for what each does, \`npx ants <command> --help\` for its options.`

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === "--help" || name === "-h") {
    io.out(helpText())
    return name === undefined ? 2 : 0
  }
  if (name === "--version" || name === "-V" || name === "version") {
    io.out(version())
    return 0
  }
  if (name === "help") {
    const spec = rest[0] === undefined ? undefined : byName.get(rest[0])
    if (rest[0] !== undefined && !spec) {
      io.err(`ants: ${unknownCommand(rest[0])}`)
      return 2
    }
    return spec ? await runCommand(spec, ["--help"], { json: false, ...io }, async () => 0) : (io.out(helpText()), 0)
  }
  const spec = byName.get(name)
  if (!spec) {
    io.err(`ants: ${unknownCommand(name)}`)
    return 2
  }
  try {
    return await runCommand(spec, rest, { json: false, ...io }, async (parsed, json) => {
      const mod = await MODULES[spec.name]!()
      mod.check?.(parsed)
      if (!spec.connects) return await mod.run(parsed, { ...io, json } as never, rest)
      const { clientConnection, credentialsOf } = await import("./client-connection.ts")
      const values = parsed.values as { nats?: string } & Parameters<typeof credentialsOf>[0]
      const nc = await clientConnection(values.nats, io, credentialsOf(values))
      try {
        return await mod.run(parsed, { ...io, json, nc }, rest)
      } finally {
        await nc.drain().catch(() => undefined)
      }
    })
  } catch (e) {
    const err = e as Error & { _tag?: string; exitCode?: number }
    if (isUsageError(err) || err._tag === "CliError" || err._tag === "NatsServerError" || err._tag === "SubjectError") {
      io.err(`ants ${name}: ${err.message}`)
      return err.exitCode ?? 2
    }
    io.err(`ants ${name}: ${err.message ?? String(e)}`)
    if (process.env.ANTS_DEBUG) io.err(err.stack ?? "")
    return 1
  }
}

