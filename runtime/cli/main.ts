/**
 * The `ants` command line. Every command that prints data takes `--json`; errors say what to do.
 * Client commands find NATS through `--nats`, then `NATS_URL`, then the embedded server of a
 * node started on this machine with no `--nats` (its URL is left in a file under the temporary
 * folder while it runs), then nats://127.0.0.1:4222.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { parseArgs, type ParseArgsConfig } from "node:util"
import type { NatsConnection } from "@nats-io/nats-core"
import { decodeReply } from "../../subjects/envelope.ts"
import { agentSubject, DEFAULT_TENANT, parseAgentSubject, SubjectError } from "../../subjects/grammar.ts"
import { isAgentDefinition, type AgentDefinition } from "../agent/define-agent.ts"
import { connectNats, startNode, type LogLevel } from "../node/node.ts"
import { NatsServerError } from "../server/nats-server.ts"
import { clearEmbeddedUrl, writeEmbeddedUrl } from "./embedded-url.ts"
import { CliError } from "./cli-error.ts"
import { NATS_OPTION, clientConnection, credentialsOf, resolveNatsUrl, takeConnectionFlags } from "./connection.ts"
import type { Io } from "./io.ts"

export { CliError, resolveNatsUrl }

export type { Io }

const stdio: Io = {
  out: (s) => process.stdout.write(s.endsWith("\n") ? s : s + "\n"),
  err: (s) => process.stderr.write(s.endsWith("\n") ? s : s + "\n"),
}

interface Command {
  readonly summary: string
  readonly usage: string
  run(argv: string[], io: Io): Promise<number | void>
}


/** Commands implemented in their own modules, loaded on use. */
const external: Record<string, { module: string; fn: string; summary: string; usage: string; needsNats: boolean }> = {
  pheromone: {
    module: "./pheromone-command.ts",
    fn: "pheromoneCommand",
    summary: "deposit, reinforce, detect or watch pheromones",
    usage: "ants pheromone deposit|reinforce|detect|watch ... [--tenant T] [--json]",
    needsNats: true,
  },
  task: {
    module: "./task-command.ts",
    fn: "taskCommand",
    summary: "submit a durable task or ask its status",
    usage: "ants task submit <capability> '<json>' [--priority P] [--key K] [--session S] [--not-before ISO] | ants task status <id> [--json]",
    needsNats: true,
  },
  dlq: {
    module: "./dlq-command.ts",
    fn: "dlqCommand",
    summary: "list, inspect, resubmit or purge dead-lettered tasks",
    usage: "ants dlq list|show <id>|resubmit <id>|purge [--json]",
    needsNats: true,
  },
  nodes: {
    module: "./cluster-commands.ts",
    fn: "nodesCommand",
    summary: "list runtime nodes: members, partitions owned, actors by state",
    usage: "ants nodes [--timeout ms] [--json]",
    needsNats: true,
  },
  actors: {
    module: "./cluster-commands.ts",
    fn: "actorsCommand",
    summary: "where each actor of a type lives, and its state",
    usage: "ants actors --type T [--tenant T] [--limit N] [--timeout ms] [--json]",
    needsNats: true,
  },
  cost: {
    module: "./cost-command.ts",
    fn: "costCommand",
    summary: "per-type activations, active and sleeping time, priced with the seed's sleep/wake cost model",
    usage: "ants cost [--type T] [--json]",
    needsNats: true,
  },
  tenant: {
    module: "./tenant-command.ts",
    fn: "tenantCommand",
    summary: "suspend or resume a tenant (the kill switch), set its quotas, or show them",
    usage: "ants tenant suspend <tenant> --reason <text> | resume <tenant> | show <tenant> | quota <tenant> [--max-actors N] [--messages-per-second N] [--kv-bytes N] [--task-backlog N] [--json]",
    needsNats: true,
  },
  auth: {
    module: "./auth-command.ts",
    fn: "authCommand",
    summary: "write the principals (nodes, operator, tenants) and the server configuration that knows them",
    usage: "ants auth init --tenants acme,globex --out <dir> [--routes host:6222,...] [--force] [--json]",
    needsNats: false,
  },
  bench: {
    module: "./bench-command.ts",
    fn: "benchCommand",
    summary: "run benchmark scenarios against raw NATS baselines",
    usage: "ants bench [scenario...] [--quick] [--nats url] [--out dir]",
    needsNats: false,
  },
}

const commands: Record<string, Command> = {
  node: {
    summary: "run a runtime node hosting agent types",
    usage:
      "ants node --agents <module> [--nats url[,url...]] [--node-id ID] [--passivate-after ms] [--mailbox N] [--replicas N] [--json]\n" +
      "          [--nkey file | --creds file | --user U --password P | --token T] [--tls-ca f --tls-cert f --tls-key f]\n" +
      "          [--auth-dir dir] [--tenants t1,t2]\n" +
      "  Without --nats or NATS_URL it starts an embedded nats-server (free port, temporary store, credentials made for the run).\n" +
      "  --auth-dir (from `ants auth init`): each tenant's actors act through that tenant's own connection.\n" +
      "  --tenants: serve only these tenants (others are answered forbidden).\n" +
      "  SIGINT/SIGTERM drain the node: in-flight messages finish, state is checkpointed, exit 0.",
    run: runNode,
  },
  demo: {
    summary: "start an embedded swarm of example agents, drive it, print what happened",
    usage: "ants demo [--nats url] [--actors N] [--messages N] [--json]",
    run: async (argv, io) => {
      const { runDemo } = await import("./demo.ts")
      return await runDemo(argv, io)
    },
  },
  ask: {
    summary: "send a request to an agent and print the reply envelope",
    usage: "ants ask <subject> ['<json>'] [--nats url] [--timeout ms] [--json]\n  e.g. ants ask ants.default.agent.echo.e1.Say '{\"text\":\"hi\"}'",
    run: runAsk,
  },
  tell: {
    summary: "send a message to an agent without waiting for a reply",
    usage: "ants tell <subject> ['<json>'] [--nats url]",
    run: runTell,
  },
  wake: {
    summary: "wake (activate) one actor explicitly",
    usage: "ants wake <type> <id> [--tenant T] [--nats url] [--json]",
    run: runWake,
  },
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [name, ...rest] = argv
  try {
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      io.out(helpText())
      return name === undefined ? 2 : 0
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      const c = commands[name] ?? external[name]
      if (!c) throw new CliError(`unknown command "${name}". Run \`npx ants --help\` for the list.`)
      io.out(`${c.summary}\n\nusage: ${c.usage}`)
      return 0
    }
    const cmd = commands[name]
    if (cmd) return (await cmd.run(rest, io)) ?? 0
    const ext = external[name]
    if (ext) return await runExternal(name, ext, rest, io)
    throw new CliError(`unknown command "${name}". Run \`npx ants --help\` for the list.`)
  } catch (e) {
    const err = e as Error & { _tag?: string; exitCode?: number }
    if (err._tag === "CliError" || err._tag === "NatsServerError" || err._tag === "SubjectError" || err instanceof NatsServerError) {
      io.err(`ants ${name}: ${err.message}`)
      return (err as { exitCode?: number }).exitCode ?? 2
    }
    io.err(`ants ${name}: ${err.message ?? String(e)}`)
    if (process.env.ANTS_DEBUG) io.err(err.stack ?? "")
    return 1
  }
}

function helpText(): string {
  const all = { ...commands, ...external }
  const width = Math.max(...Object.keys(all).map((k) => k.length))
  const lines = Object.entries(all).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`)
  return [
    "ants — an actor runtime for AI-agent swarms on NATS",
    "",
    "usage: npx ants <command> [options]   (npx ants <command> --help for details)",
    "",
    "commands:",
    ...lines,
    "",
    "NATS: --nats <url[,url]>, else NATS_URL, else a local node's embedded server, else nats://127.0.0.1:4222.",
    "Credentials: --nkey, --creds, --user/--password, --token, --tls-ca/--tls-cert/--tls-key, in the URL",
    "(nats://user:password@host), or NATS_NKEY, NATS_CREDS, NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CA, NATS_CERT, NATS_KEY.",
  ].join("\n")
}

function parse<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, json: { type: "boolean" } }, allowPositionals: true, strict: true })
  } catch (e) {
    throw new CliError(`${(e as Error).message}\nusage: ${usage}`)
  }
}

async function runExternal(name: string, ext: (typeof external)[string], argv: string[], io: Io): Promise<number> {
  const path = new URL(ext.module, import.meta.url)
  if (!existsSync(path)) throw new CliError(`the "${name}" command is not part of this build yet`)
  const mod = (await import(path.href)) as Record<string, (argv: string[], io: unknown) => Promise<number | void>>
  const fn = mod[ext.fn]
  const json = argv.includes("--json")
  const args = argv.filter((a) => a !== "--json")
  if (!ext.needsNats) return (await fn(args, { ...io, json })) ?? 0
  // pull --nats and the credential flags out for the connection; the command parses the rest
  const conn = takeConnectionFlags(args)
  const nc = await clientConnection(conn.nats, io, conn.credentials)
  try {
    return (await fn(args, { nc, json, out: io.out, err: io.err })) ?? 0
  } finally {
    await nc.drain().catch(() => undefined)
  }
}

// ---------------------------------------------------------------------------------------------

/** Loads agent definitions from a module: its default export, an `agents` array, or every exported definition. */
export async function loadAgents(modulePath: string): Promise<AgentDefinition[]> {
  const abs = resolve(modulePath)
  if (!existsSync(abs)) throw new CliError(`agents module ${modulePath} does not exist (resolved to ${abs})`)
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>
  } catch (e) {
    throw new CliError(`cannot load agents module ${modulePath}: ${(e as Error).message}`)
  }
  const found = new Map<string, AgentDefinition>()
  const add = (v: unknown) => {
    if (isAgentDefinition(v)) found.set(v.type, v)
    else if (Array.isArray(v)) v.forEach(add)
  }
  add(mod.default)
  add(mod.agents)
  for (const v of Object.values(mod)) add(v)
  if (found.size === 0) {
    throw new CliError(`${modulePath} exports no agent definitions: export values made with defineAgent (or an \`agents\` array)`)
  }
  return [...found.values()]
}

async function runNode(argv: string[], io: Io): Promise<number> {
  const usage = commands.node.usage
  const { values } = parse(
    argv,
    {
      ...NATS_OPTION,
      agents: { type: "string", multiple: true },
      "node-id": { type: "string" },
      "passivate-after": { type: "string" },
      mailbox: { type: "string" },
      replicas: { type: "string" },
      verbose: { type: "boolean" },
      "auth-dir": { type: "string" },
      tenants: { type: "string" },
    },
    usage,
  )
  if (!values.agents || values.agents.length === 0) {
    throw new CliError(`--agents <module> is required (try --agents ./actors/examples/index.ts)\nusage: ${usage}`)
  }
  const agents = (await Promise.all(values.agents.map(loadAgents))).flat()
  const num = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (v.trim() === "" || !Number.isFinite(n) || n < 0) throw new CliError(`--${flag} must be a non-negative number, got "${v}"\nusage: ${usage}`)
    return n
  }
  const count = (flag: string, v: string | undefined, hint: string) => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
      throw new CliError(`--${flag} must be a whole number of at least 1, got "${v}": ${hint}\nusage: ${usage}`)
    }
    return n
  }
  const mailbox = count("mailbox", values.mailbox, "it bounds each actor's mailbox (default 1000); leave it out for the default")
  const replicas = count("replicas", values.replicas, "use 1 for a single server, 3 for a production cluster")
  const json = values.json === true
  const verbose = values.verbose === true
  const logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (level === "info" && !verbose) return
    if (json) io.err(JSON.stringify({ level, message, ...fields, at: new Date().toISOString() }))
    else io.err(`[${level}] ${message}${fields ? " " + JSON.stringify(fields) : ""}`)
  }
  const node = await startNode({
    agents,
    nats: values.nats,
    nodeId: values["node-id"],
    passivateAfterMs: num("passivate-after", values["passivate-after"]),
    mailbox,
    replicas,
    logger,
    credentials: credentialsOf(values),
    ...(values["auth-dir"] ? { authDir: values["auth-dir"] } : {}),
    ...(values.tenants ? { tenants: values.tenants.split(",").map((t) => t.trim()).filter(Boolean) } : {}),
  })
  if (node.embedded) writeEmbeddedUrl(node.url, { serverPid: node.embedded.pid, ...node.embedded.credentials })
  // which guarantees hold on the server found: always shown, not only with --verbose
  const g = node.cluster.guarantees
  const guarantees = { version: g.version, replicas: g.replicas, survivesServerLoss: g.survivesServerLoss, statements: g.statements, warnings: g.warnings, vulnerabilities: g.vulnerabilities }
  const ready = { node: node.id, url: node.url, embedded: node.embedded !== undefined, ...(node.embedded ? { serverPid: node.embedded.pid } : {}), routing: node.routing, types: agents.map((a) => a.type), guarantees }
  if (json) io.out(JSON.stringify({ event: "ready", ...ready }))
  else {
    io.out(`ants node ${node.id} ready on ${node.url}${node.embedded ? " (embedded nats-server; stops with the node)" : ""}`)
    io.out(`  agent types: ${ready.types.join(", ")}`)
    io.out(`  guarantees on nats-server ${g.version} (runtime replicas R${g.replicas}):`)
    for (const st of g.statements) io.out(`    ${st}`)
    for (const w of g.warnings) io.out(`    warning: ${w}`)
    io.out(`  try: npx ants ask ${agentSubject({ tenant: DEFAULT_TENANT, type: ready.types[0], id: "a1", tag: agents[0].protocol.tags[0] })} '{}'`)
    io.out("  Ctrl-C drains and stops the node.")
  }
  let signals = 0
  const onSignal = (sig: string) => {
    signals++
    if (signals > 1) {
      io.err(`second ${sig}: exiting without draining`)
      process.exit(1)
    }
    if (!json) io.out(`${sig}: draining (finishing in-flight messages, checkpointing)...`)
    void node.drain()
  }
  process.on("SIGINT", () => onSignal("SIGINT"))
  process.on("SIGTERM", () => onSignal("SIGTERM"))
  await node.closed
  if (node.embedded) clearEmbeddedUrl(node.url)
  if (json) io.out(JSON.stringify({ event: "stopped", node: node.id }))
  else io.out(`node ${node.id} stopped`)
  return 0
}

function bodyArg(raw: string | undefined): Uint8Array {
  if (raw === undefined || raw === "") return new TextEncoder().encode("{}")
  try {
    JSON.parse(raw)
  } catch (e) {
    throw new CliError(`the message must be JSON (got ${raw}): ${(e as Error).message}. Quote it in the shell: '{"text":"hi"}'`)
  }
  return new TextEncoder().encode(raw)
}

function checkSubject(subject: string | undefined, usage: string): string {
  if (!subject) throw new CliError(`a subject is required\nusage: ${usage}`)
  try {
    parseAgentSubject(subject)
  } catch (e) {
    throw new CliError(`${(e as SubjectError).message}\nusage: ${usage}`)
  }
  return subject
}

async function runAsk(argv: string[], io: Io): Promise<number> {
  const usage = commands.ask.usage
  const { values, positionals } = parse(argv, { ...NATS_OPTION, timeout: { type: "string" } }, usage)
  const subject = checkSubject(positionals[0], usage)
  const body = bodyArg(positionals[1])
  const timeout = values.timeout ? Number(values.timeout) : 5000
  const nc = await clientConnection(values.nats, io, credentialsOf(values))
  try {
    let env
    try {
      const r = await nc.request(subject, body, { timeout })
      env = decodeReply(r.data)
    } catch (e) {
      const noResponders = (e as Error).message?.includes("503") || (e as { isNoResponders?: () => boolean }).isNoResponders?.()
      env = noResponders
        ? { ok: false as const, error: { code: "unavailable" as const, message: `no runtime node serves ${subject}: start one with \`npx ants node --agents <module>\`` } }
        : { ok: false as const, error: { code: "timeout" as const, message: `no reply within ${timeout} ms` } }
    }
    io.out(values.json ? JSON.stringify(env) : JSON.stringify(env, null, 2))
    return env.ok ? 0 : 1
  } finally {
    await nc.drain().catch(() => undefined)
  }
}

async function runTell(argv: string[], io: Io): Promise<number> {
  const usage = commands.tell.usage
  const { values, positionals } = parse(argv, NATS_OPTION, usage)
  const subject = checkSubject(positionals[0], usage)
  const body = bodyArg(positionals[1])
  const nc = await clientConnection(values.nats, io, credentialsOf(values))
  try {
    nc.publish(subject, body)
    await nc.flush()
    io.out(values.json ? JSON.stringify({ ok: true, subject }) : `sent to ${subject}`)
    return 0
  } finally {
    await nc.drain().catch(() => undefined)
  }
}

async function runWake(argv: string[], io: Io): Promise<number> {
  const usage = commands.wake.usage
  const { values, positionals } = parse(argv, { ...NATS_OPTION, tenant: { type: "string" }, timeout: { type: "string" } }, usage)
  const [type, id] = positionals
  if (!type || !id) throw new CliError(`type and id are required\nusage: ${usage}`)
  const subject = agentSubject({ tenant: values.tenant ?? DEFAULT_TENANT, type, id, tag: "_Wake" })
  const nc = await clientConnection(values.nats, io, credentialsOf(values))
  try {
    const r = await nc.request(subject, new Uint8Array(), { timeout: values.timeout ? Number(values.timeout) : 5000 }).catch((e: Error) => {
      throw new CliError(`no node answered for ${type}/${id}: ${e.message}. Is a node hosting "${type}" running?`, 1)
    })
    const env = decodeReply(r.data)
    io.out(values.json ? JSON.stringify(env) : env.ok ? `${type}/${id} is awake (${JSON.stringify(env.value)})` : `could not wake ${type}/${id}: ${env.error.code}: ${env.error.message}`)
    return env.ok ? 0 : 1
  } finally {
    await nc.drain().catch(() => undefined)
  }
}
