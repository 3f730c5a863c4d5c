/**
 * `ants gateway` (declared in commands.ts as GATEWAY): the HTTP gateway and the dashboard in
 * front of a swarm, as a client of its NATS. Tokens come from `--tokens <file>` (with
 * `--auth-dir`, each tenant token acts as that tenant's principal); without a tokens file one
 * operator token is made for this run and printed, acting with the command's own credentials.
 * Stops on SIGINT/SIGTERM.
 */
import { randomBytes } from "node:crypto"
import type { AgentDefinition } from "../agent/define-agent.ts"
import { createGateway, GATEWAY_DEFAULTS } from "../gateway/gateway.ts"
import { readTokensFile, type GatewayPrincipal } from "../gateway/principals.ts"
import type { Parsed } from "./command-spec.ts"
import type { GATEWAY } from "./gateway-spec.ts"
import { CliError, credentialsOf, resolveNatsUrl } from "./client-connection.ts"
import type { Io } from "./io.ts"
import { loadAgents } from "./load-agents.ts"
import { UsageError } from "./usage-error.ts"

/** `host:port`, `:port` or `port` (host 127.0.0.1); `[::1]:8080` for IPv6. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d+)$/.exec(s)
  const port = m ? Number(m[3]) : NaN
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--listen takes host:port (e.g. 127.0.0.1:8080, :8080 or 8080), not "${s}"`)
  return { host: m[1] ?? (m[2] || GATEWAY_DEFAULTS.host), port }
}

export function checkGateway(parsed: Parsed<(typeof GATEWAY)["options"]>): void {
  parseListen(parsed.values.listen)
}

export async function runGateway(parsed: Parsed<(typeof GATEWAY)["options"]>, io: Io & { readonly json: boolean }): Promise<number> {
  const { values } = parsed
  const listen = parseListen(values.listen)
  const agents: AgentDefinition[] = values.agents ? (await Promise.all(values.agents.map(loadAgents))).flat() : []
  const { url, credentials: found } = resolveNatsUrl(values.nats, io)
  const given = credentialsOf(values)
  const credentials = Object.keys(given).length > 0 ? given : found
  let principals: GatewayPrincipal[]
  let madeToken: string | undefined
  if (values.tokens) {
    principals = readTokensFile(values.tokens, values["auth-dir"])
    if (!values["auth-dir"] && principals.some((p) => !p.operator && p.credentials === undefined)) {
      io.err("ants gateway: tenant tokens without credentials act with the gateway's own: tenants are then kept apart by the gateway only. Give --auth-dir (the folder of `ants auth init`) so the server enforces it.")
    }
  } else {
    madeToken = randomBytes(24).toString("hex")
    principals = [{ token: madeToken, operator: true, name: "operator (made for this run)" }]
  }
  const gateway = await createGateway({ nats: url, principals, ...(credentials ? { credentials } : {}), agents })
  let listener
  try {
    listener = await gateway.serve(listen)
  } catch (e) {
    await gateway.close()
    throw new CliError(`cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message}`)
  }
  const ready = { url: listener.url, dashboard: `${listener.url}/dashboard`, openapi: `${listener.url}/v1/openapi.json`, types: agents.map((a) => a.type), tokens: principals.length }
  if (io.json) io.out(JSON.stringify({ event: "ready", ...ready, ...(madeToken ? { token: madeToken } : {}) }))
  else {
    io.out(`ants gateway ready on ${listener.url} (NATS ${url.replace(/\/\/[^@/]*@/, "//")})`)
    io.out(`  dashboard: ${ready.dashboard}`)
    io.out(`  OpenAPI:   ${ready.openapi}`)
    io.out(`  agent types: ${ready.types.join(", ") || "none given (--agents): asks still pass, discovery is empty"}`)
    if (madeToken) io.out(`  token (operator, this run only): ${madeToken}`)
    else io.out(`  tokens: ${principals.length} from ${values.tokens}`)
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve())
    process.once("SIGTERM", () => resolve())
  })
  await gateway.close()
  if (io.json) io.out(JSON.stringify({ event: "stopped" }))
  return 0
}
