/**
 * `ants mcp` (declared in commands.ts as MCP): the tenant's agents and registry tools served to
 * MCP clients (runtime/tools/mcp-server.ts), over the command's own NATS connection and
 * credentials. On stdio, stdout carries the protocol only (messages go to stderr); with --http
 * it prints its URL on stdout, serves until SIGINT/SIGTERM and refuses requests without the
 * bearer token.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { serveMcpHttp, serveMcpStdio } from "../tools/mod.ts"
import type { Parsed } from "./command-spec.ts"
import type { MCP } from "./commands.ts"
import type { Io } from "./io.ts"
import { loadAgents } from "./load-agents.ts"
import { UsageError } from "./usage-error.ts"

/** `port`, `host:port` or `[v6]:port`; the host defaults to loopback. */
export function parseListen(raw: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:]*):)?(\d{1,5})$/.exec(raw.trim())
  const port = m ? Number(m[3]) : NaN
  if (!m || port > 65535) throw new UsageError(`--http takes a port or host:port (e.g. 7300 or 127.0.0.1:7300), got "${raw}"`)
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port }
}

export async function runMcp(parsed: Parsed<(typeof MCP)["options"]>, io: Io & { readonly json: boolean; readonly nc: NatsConnection }): Promise<number> {
  const v = parsed.values
  const listen = v.http === undefined ? undefined : parseListen(v.http)
  const token = v["http-token"] ?? process.env.ANTS_MCP_TOKEN
  if (listen && !token) throw new UsageError("--http needs a bearer token: --http-token <secret> or ANTS_MCP_TOKEN (the endpoint is never anonymous)")
  const agents = (await Promise.all((v.agents ?? []).map(loadAgents))).flat()
  const base = { nc: io.nc, tenant: v.tenant, agents, timeoutMs: v.timeout }
  if (!listen) {
    const { closed } = await serveMcpStdio(base)
    io.err(`ants mcp: serving tenant ${v.tenant} (${agents.length} agent type(s) and the registry's tools) on stdio`)
    await closed
    return 0
  }
  let server
  try {
    server = await serveMcpHttp({ ...base, token: token!, ...listen })
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  if (io.json) io.out(JSON.stringify({ event: "ready", url: server.url, tenant: v.tenant }))
  else io.out(`ants mcp: serving tenant ${v.tenant} on ${server.url} (Authorization: Bearer <token>); Ctrl-C stops`)
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve)
    process.once("SIGTERM", resolve)
  })
  await server.close()
  return 0
}
