/**
 * The swarm as an MCP server (`ants mcp`): any MCP client lists and calls a tenant's agents and
 * registry tools. Each tag of the offered agent types (runtime tags `_…` excepted) is a tool
 * `<type>_<Tag>` whose arguments are `{id, message}` (the actor and the tag's message, with the
 * message's JSON Schema from the protocol); a call is an ask over NATS. Each registry tool of
 * the tenant is a tool of its own name and schema; a call is a registry run (in the sandbox, on
 * a node). Everything goes over the caller's own connection, so its principal's permissions
 * hold: a tenant's credentials reach only that tenant.
 *
 * Transports: stdio (what MCP clients spawn), and Streamable HTTP (stateless: a fresh server
 * per request) which refuses any request without the configured bearer token (401) and listens
 * on 127.0.0.1 unless told otherwise.
 *
 * The MCP SDK is loaded when a server is first made, not with the runtime (mcp-client.ts says why).
 */
import { createServer, type Server as HttpServer } from "node:http"
import { timingSafeEqual } from "node:crypto"
import type { NatsConnection } from "@nats-io/nats-core"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { CallToolResult, Tool as McpTool } from "@modelcontextprotocol/sdk/types.js"
import type { AgentDefinition } from "../agent/mod.ts"
import { createMessaging } from "../client/mod.ts"
import { toolsClient } from "./client.ts"
import type { JsonSchema } from "./types.ts"

export interface McpServeOptions {
  readonly nc: NatsConnection
  readonly tenant: string
  /** Agent types whose tags are offered as tools. */
  readonly agents?: ReadonlyArray<AgentDefinition<any, any>>
  /** How long an ask or a run may take. Default 130 s. */
  readonly timeoutMs?: number
  /** The name the server gives its clients. */
  readonly name?: string
  readonly version?: string
}

interface Offered {
  readonly tool: McpTool
  call(args: Record<string, unknown>): Promise<unknown>
}

/** A tag's message schema as a tool's `{id, message}` input (definitions hoisted so references resolve). */
function agentInput(type: string, message: unknown): McpTool["inputSchema"] {
  const { $schema: _s, $defs, ...rest } = (message ?? {}) as JsonSchema & { $defs?: unknown }
  return {
    type: "object",
    properties: { id: { type: "string", description: `which ${type} actor (any id: actors activate on their first message)` }, message: rest },
    required: ["id", "message"],
    ...($defs ? { $defs } : {}),
  } as McpTool["inputSchema"]
}

function result(value: unknown): CallToolResult {
  const text = JSON.stringify(value ?? null)
  return typeof value === "object" && value !== null && !Array.isArray(value) ? { content: [{ type: "text", text }], structuredContent: value as Record<string, unknown> } : { content: [{ type: "text", text }] }
}

/** What the MCP server offers, read afresh on each listing (a registered tool shows at once). */
async function offered(o: McpServeOptions): Promise<Map<string, Offered>> {
  const timeoutMs = o.timeoutMs ?? 130_000
  const out = new Map<string, Offered>()
  const messaging = createMessaging(o.nc, { tenant: o.tenant })
  for (const def of o.agents ?? []) {
    const schemas = def.protocol.jsonSchema()
    for (const [tag, s] of Object.entries(schemas)) {
      if (tag.startsWith("_")) continue
      const name = `${def.type}_${tag}`
      out.set(name, {
        tool: { name, description: s.description ?? `Asks a ${def.type} agent ${tag}: the reply is its answer`, inputSchema: agentInput(def.type, s.message) },
        call: (args) => messaging.ask({ agent: def.type, id: String(args.id), tenant: o.tenant }, tag, args.message ?? {}, { timeoutMs }),
      })
    }
  }
  const tools = toolsClient(o.nc, o.tenant)
  let registry: Awaited<ReturnType<typeof tools.list>> = []
  try {
    registry = await tools.list()
  } catch {
    // no node serves the registry: agents only
  }
  for (const t of registry) {
    if (out.has(t.name)) continue
    const note = t.deprecated ? ` (deprecated: use ${t.deprecated.replacement})` : ""
    out.set(t.name, {
      tool: { name: t.name, description: `${t.description}${note}`, inputSchema: { type: "object", ...t.schema } as McpTool["inputSchema"] },
      call: async (args) => (await tools.run(t.name, args, { timeoutMs })).value,
    })
  }
  return out
}

let sdk: Promise<Sdk> | undefined
const loadSdk = (): Promise<Sdk> => (sdk ??= loadMcpServerSdk())
type Sdk = Awaited<ReturnType<typeof loadMcpServerSdk>>
async function loadMcpServerSdk() {
  const [{ Server }, { StdioServerTransport }, { StreamableHTTPServerTransport }, { CallToolRequestSchema, ListToolsRequestSchema }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/index.js"),
    import("@modelcontextprotocol/sdk/server/stdio.js"),
    import("@modelcontextprotocol/sdk/server/streamableHttp.js"),
    import("@modelcontextprotocol/sdk/types.js"),
  ])
  return { Server, StdioServerTransport, StreamableHTTPServerTransport, CallToolRequestSchema, ListToolsRequestSchema }
}

/** An MCP `Server` offering the tenant's agents and tools (connect it to any transport). */
export async function antsMcpServer(o: McpServeOptions): Promise<Server> {
  return mcpServerOf(await loadSdk(), o)
}

function mcpServerOf({ Server, CallToolRequestSchema, ListToolsRequestSchema }: Sdk, o: McpServeOptions): Server {
  const server = new Server({ name: o.name ?? "ants", version: o.version ?? "0.1.0" }, { capabilities: { tools: {} } })
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [...(await offered(o)).values()].map((x) => x.tool) }))
  server.setRequestHandler(CallToolRequestSchema, async (req): Promise<CallToolResult> => {
    const tool = (await offered(o)).get(req.params.name)
    if (!tool) return { isError: true, content: [{ type: "text", text: `no tool "${req.params.name}" in tenant ${o.tenant}; list the tools first` }] }
    try {
      return result(await tool.call((req.params.arguments ?? {}) as Record<string, unknown>))
    } catch (e) {
      const code = (e as { code?: unknown })?.code
      return { isError: true, content: [{ type: "text", text: `${typeof code === "string" ? `${code}: ` : ""}${(e as Error)?.message ?? String(e)}` }] }
    }
  })
  return server
}

/** Serves on stdin/stdout until the input closes. */
export async function serveMcpStdio(o: McpServeOptions): Promise<{ closed: Promise<void> }> {
  const sdk = await loadSdk()
  const server = mcpServerOf(sdk, o)
  const transport = new sdk.StdioServerTransport()
  const closed = new Promise<void>((r) => (transport.onclose = () => r()))
  await server.connect(transport)
  return { closed }
}

export interface McpHttpOptions extends McpServeOptions {
  /** The bearer token every request must carry. Required: the endpoint is never anonymous. */
  readonly token: string
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0: a free port. */
  readonly port?: number
}

export interface McpHttpServer {
  /** `http://host:port/mcp` */
  readonly url: string
  close(): Promise<void>
}

function bearerOk(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? "")
  if (!m) return false
  const a = Buffer.from(m[1]!)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Serves Streamable HTTP at `/mcp`, stateless, behind the bearer token. */
export async function serveMcpHttp(o: McpHttpOptions): Promise<McpHttpServer> {
  if (typeof o.token !== "string" || o.token.length < 16) throw new Error("the MCP HTTP endpoint needs a bearer token of at least 16 characters (--http-token or ANTS_MCP_TOKEN): it is never anonymous")
  const sdk = await loadSdk()
  const http: HttpServer = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]
    if (path !== "/mcp") return void res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found: the MCP endpoint is /mcp" }))
    if (!bearerOk(req.headers.authorization, o.token)) {
      return void res.writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer realm="ants-mcp"' }).end(JSON.stringify({ error: "unauthorized: send Authorization: Bearer <token>" }))
    }
    if (req.method !== "POST") return void res.writeHead(405, { allow: "POST", "content-type": "application/json" }).end(JSON.stringify({ error: "this stateless endpoint takes POST only" }))
    const server = mcpServerOf(sdk, o)
    const transport = new sdk.StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    res.on("close", () => {
      void transport.close()
      void server.close()
    })
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: (e as Error)?.message ?? String(e) }))
      })
  })
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject)
    http.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve())
  })
  const addr = http.address() as { address: string; port: number }
  const host = addr.address.includes(":") ? `[${addr.address}]` : addr.address
  return {
    url: `http://${host}:${addr.port}/mcp`,
    close: () => new Promise<void>((r) => http.close(() => r())),
  }
}
