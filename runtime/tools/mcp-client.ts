/**
 * MCP servers as tools for agents: `mcpTools(server)` connects to an MCP server — a command
 * spoken to over stdio, or a Streamable HTTP URL (with headers, e.g. a bearer token) — lists
 * its tools and returns them as model `Tool`s (JSON Schema from the server, arguments checked
 * before the call), ready for `defineConversationalAgent({ tools })` or `ctx.model.turn`. A
 * call is the server's `tools/call`; a result marked `isError` becomes the tool's error (the
 * model reads it), structured content is returned as it is, text content parsed as JSON when
 * it is JSON.
 *
 * The server runs where the node runs (a stdio server is a child process of the node): give
 * agents only servers you trust as you trust the node's code; untrusted code belongs in the
 * registry's sandbox.
 *
 * The MCP SDK is loaded on the first call, not with the runtime: most nodes and every CLI command
 * but `ants mcp` never use it, and it is a sixth of the runtime's start-up.
 */
import type { Tool } from "../models/mod.ts"
import { ToolError } from "./errors.ts"
import { jsonTool, toolNameOf } from "./json-tool.ts"
import type { JsonSchema } from "./types.ts"

/** An MCP server to connect to: a command over stdio, or a Streamable HTTP endpoint. */
export type McpServerConfig =
  | { readonly command: string; readonly args?: ReadonlyArray<string>; readonly env?: Readonly<Record<string, string>>; readonly cwd?: string }
  | { readonly url: string; readonly headers?: Readonly<Record<string, string>> }

export interface McpToolsOptions {
  /** Put before each tool's name (`<prefix>_<name>`), to keep several servers' tools apart. */
  readonly prefix?: string
  /** Only these of the server's tools (by the server's names). */
  readonly include?: ReadonlyArray<string>
  /** How long a call may take. Default 60 s. */
  readonly timeoutMs?: number
}

export interface McpToolset {
  readonly tools: ReadonlyArray<Tool>
  /** Disconnects (a stdio server's process ends). */
  close(): Promise<void>
}

type Content = ReadonlyArray<{ type: string; text?: string }>

function textOf(content: Content | undefined): string {
  return (content ?? []).map((c) => (c.type === "text" ? (c.text ?? "") : `[${c.type}]`)).join("\n")
}

function valueOf(r: { structuredContent?: unknown; content?: unknown }): unknown {
  if (r.structuredContent !== undefined) return r.structuredContent
  const text = textOf(r.content as Content)
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** How a server is named in errors and descriptions: its command line, or its URL. */
const serverName = (server: McpServerConfig) => ("command" in server ? `${server.command} ${(server.args ?? []).join(" ")}`.trim() : server.url)

/**
 * Loads the MCP SDK's client (on first use: the SDK is not part of the runtime's start-up),
 * connects to `server` and returns the connected client; a server that cannot be reached is a
 * ToolError `unavailable`.
 */
export async function connectMcp(server: McpServerConfig) {
  const [{ Client }, { StdioClientTransport }, { StreamableHTTPClientTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/stdio.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ])
  const client = new Client({ name: "ants", version: "0.1.0" })
  const transport =
    "command" in server
      ? new StdioClientTransport({ command: server.command, args: [...(server.args ?? [])], ...(server.env ? { env: { ...(process.env as Record<string, string>), ...server.env } } : {}), ...(server.cwd ? { cwd: server.cwd } : {}), stderr: "pipe" })
      : new StreamableHTTPClientTransport(new URL(server.url), server.headers ? { requestInit: { headers: { ...server.headers } } } : undefined)
  try {
    await client.connect(transport)
  } catch (e) {
    throw new ToolError("unavailable", `could not connect to the MCP server ${serverName(server)}: ${(e as Error).message}`, undefined, { cause: e })
  }
  return client
}

export async function mcpTools(server: McpServerConfig, options: McpToolsOptions = {}): Promise<McpToolset> {
  const client = await connectMcp(server)
  const where = serverName(server)
  const listed: Array<{ name: string; description?: string; inputSchema: unknown }> = []
  for (let cursor: string | undefined, first = true; first || cursor; first = false) {
    const page = await client.listTools(cursor ? { cursor } : undefined)
    listed.push(...page.tools)
    cursor = page.nextCursor
  }
  const timeout = options.timeoutMs ?? 60_000
  const tools = listed
    .filter((t) => !options.include || options.include.includes(t.name))
    .map((t) =>
      jsonTool({
        name: toolNameOf(options.prefix ? `${options.prefix}_${t.name}` : t.name),
        description: t.description ?? `${t.name} (MCP server ${where})`,
        schema: (t.inputSchema ?? { type: "object" }) as JsonSchema,
        run: async (args) => {
          const r = await client.callTool({ name: t.name, arguments: (args ?? {}) as Record<string, unknown> }, undefined, { timeout })
          if (r.isError) throw new ToolError("handler_failed", `${t.name} (MCP): ${textOf(r.content as Content) || "failed"}`)
          return valueOf(r as { structuredContent?: unknown; content?: unknown })
        },
      }),
    )
  return { tools, close: () => client.close() }
}
