/**
 * `ants node --agents <module>` (declared in commands.ts as NODE): loads the agent types a
 * module exports, starts a node (on an embedded nats-server when no NATS is given), prints the
 * ready banner with the guarantees the server gives and a request that works as printed, and
 * drains on SIGINT/SIGTERM.
 */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { agentSubject, DEFAULT_TENANT } from "../../subjects/grammar.ts"
import type { AgentDefinition } from "../agent/define-agent.ts"
import { startNode, type LogLevel } from "../node/node.ts"
import type { Parsed } from "./command-spec.ts"
import { checkMemoryStore, type NODE } from "./commands.ts"
import { clearEmbeddedUrl, writeEmbeddedUrl } from "./embedded-url.ts"
import { exampleMessage } from "./example-message.ts"
import { credentialsOf } from "./client-connection.ts"
import { loadAgents } from "./load-agents.ts"
import type { Io } from "./io.ts"

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** The banner's `try:` line: a request to the first type that its protocol accepts. */
export function tryLine(def: AgentDefinition<any, any>, tenant: string = DEFAULT_TENANT): string {
  const m = exampleMessage(def)
  const subject = agentSubject({ tenant, type: def.type, id: "a1", tag: m.tag })
  return `npx ants ask ${subject}${m.body === undefined ? "" : ` ${shellQuote(m.body)}`}`
}

/**
 * Who the `try:` line asks as, on a server of one's own started from `ants auth init`'s folder:
 * the operator's key (every command needs one there) and a tenant the node serves (one with a
 * key in the folder; `default` has none unless it was named).
 */
export function tryAs(authDir: string | undefined): { readonly tenant: string; readonly env: string } {
  if (!authDir) return { tenant: DEFAULT_TENANT, env: "" }
  let tenants: string[] = []
  try {
    tenants = readdirSync(join(authDir, "tenants")).filter((f) => f.endsWith(".nk")).map((f) => f.slice(0, -3)).sort()
  } catch {
    // no tenants folder: the default tenant
  }
  const operator = join(authDir, "operator.nk")
  return { tenant: tenants.length === 0 || tenants.includes(DEFAULT_TENANT) ? DEFAULT_TENANT : tenants[0]!, env: existsSync(operator) ? `NATS_NKEY=${operator} ` : "" }
}

/** Checks what the declaration cannot say alone, before anything starts. */
export function checkNode(parsed: Parsed<(typeof NODE)["options"]>): void {
  checkMemoryStore(parsed.values)
}

export async function runNode(parsed: Parsed<(typeof NODE)["options"]>, io: Io & { readonly json: boolean }): Promise<number> {
  const { values } = parsed
  const agents = (await Promise.all(values.agents.map(loadAgents))).flat()
  const json = io.json
  const verbose = values.verbose
  const logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (level === "info" && !verbose) return
    if (json) io.err(JSON.stringify({ level, message, ...fields, at: new Date().toISOString() }))
    else io.err(`[${level}] ${message}${fields ? " " + JSON.stringify(fields) : ""}`)
  }
  const node = await startNode({
    agents,
    nats: values.nats,
    nodeId: values["node-id"],
    passivateAfterMs: values["passivate-after"],
    mailbox: values.mailbox,
    replicas: values.replicas,
    logger,
    memory: values["no-memory"] ? false : { postgres: values.postgres, dataDir: values["data-dir"], embeddings: values.embeddings },
    credentials: credentialsOf(values),
    ...(values["auth-dir"] ? { authDir: values["auth-dir"] } : {}),
    ...(values.tenants ? { tenants: values.tenants } : {}),
    ...(values.models ? { models: { file: values.models } } : {}),
    ...(values.http ? { http: values.http } : {}),
  })
  // the run's credentials go with the URL (0600, in a folder of this user's), for the client commands
  const replaced = node.embedded ? writeEmbeddedUrl(node.url, { serverPid: node.embedded.pid, ...node.embedded.credentials }) : undefined
  if (replaced) io.err(`ants node: another embedded node (pid ${replaced.pid}, ${replaced.url}) still runs on this machine; ants commands here now reach this one until it stops, then that one again`)
  // listening before the banner: whoever reads "ready" may signal at once
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
  // which guarantees hold on the server found: always shown, not only with --verbose
  const g = node.cluster.guarantees
  const guarantees = { version: g.version, replicas: g.replicas, survivesServerLoss: g.survivesServerLoss, statements: g.statements, warnings: g.warnings, vulnerabilities: g.vulnerabilities }
  const ready = { node: node.id, url: node.url, embedded: node.embedded !== undefined, ...(node.embedded ? { serverPid: node.embedded.pid } : {}), ...(node.http ? { http: node.http.url } : {}), routing: node.routing, types: agents.map((a) => a.type), guarantees }
  if (json) io.out(JSON.stringify({ event: "ready", ...ready }))
  else {
    io.out(`ants node ${node.id} ready on ${node.url}${node.embedded ? " (embedded nats-server; stops with the node)" : ""}`)
    io.out(`  agent types: ${ready.types.join(", ")}`)
    if (node.http) io.out(`  metrics: ${node.http.url}/metrics  health: ${node.http.url}/healthz`)
    io.out(`  guarantees on nats-server ${g.version} (runtime replicas R${g.replicas}):`)
    for (const st of g.statements) io.out(`    ${st}`)
    for (const w of g.warnings) io.out(`    warning: ${w}`)
    const as = node.embedded ? tryAs(undefined) : tryAs(values["auth-dir"])
    io.out(`  try: ${as.env}${tryLine(agents[0]!, as.tenant)}${node.embedded ? "" : ` --nats ${node.url}`}`)
    io.out("  Ctrl-C drains and stops the node.")
  }
  await node.closed
  if (node.embedded) clearEmbeddedUrl(node.url)
  if (json) io.out(JSON.stringify({ event: "stopped", node: node.id }))
  else io.out(`node ${node.id} stopped`)
  return 0
}
