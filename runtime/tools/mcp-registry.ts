/**
 * An MCP server configured for a tenant, as registry tools: `registerMcpServer(client, {url,
 * headers})` lists a Streamable HTTP MCP server's tools and registers each as a tool of the
 * client's tenant whose module speaks MCP to that server from the `restricted` sandbox
 * (initialize, then `tools/call`, over `fetch` allowed only to the server's origin). The
 * headers (a bearer token) are the module's environment, never arguments. So a tenant's MCP
 * servers run like any registry tool: validated, counted, promoted, usable by the tenant's
 * agents by name and by MCP clients of `ants mcp`, and no code of the tenant's choosing runs
 * in the node. (A stdio MCP server is a process, which the sandbox cannot start: give it to
 * agents with `mcpTools`.) The MCP SDK is loaded on the first call (mcp-client.ts says why).
 */
import type { ToolsClient } from "./client.ts"
import { ToolError } from "./errors.ts"
import { connectMcp } from "./mcp-client.ts"
import { toolNameOf } from "./json-tool.ts"
import type { JsonSchema, ToolHead } from "./types.ts"

/** The module of one MCP tool: a stateless MCP client over the sandbox's fetch. */
function moduleOf(url: string, tool: string): string {
  return `const CALL = ${JSON.stringify({ url, tool })};
export default async function (args, context) {
  const env = (context && context.env) || globalThis.env || {};
  const extra = env.ANTS_MCP_HEADERS ? JSON.parse(env.ANTS_MCP_HEADERS) : {};
  let session;
  let next = 0;
  const post = async (msg) => {
    const headers = Object.assign({}, extra, { "content-type": "application/json", accept: "application/json, text/event-stream" });
    if (session) headers["mcp-session-id"] = session;
    const r = await fetch(CALL.url, { method: "POST", headers, body: JSON.stringify(msg) });
    const s = r.headers.get("mcp-session-id");
    if (s) session = s;
    const text = await r.text();
    if (r.status >= 400) throw new Error("the MCP server answered " + r.status + ": " + text.slice(0, 200));
    if (msg.id === undefined) return undefined;
    const sse = (r.headers.get("content-type") || "").indexOf("text/event-stream") >= 0;
    const bodies = sse ? text.split("\\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()) : [text];
    for (const b of bodies) {
      let m;
      try { m = JSON.parse(b) } catch { continue }
      if (m && m.id === msg.id) {
        if (m.error) throw new Error("MCP error " + m.error.code + ": " + m.error.message);
        return m.result;
      }
    }
    throw new Error("the MCP server gave no answer to " + msg.method);
  };
  const init = await post({ jsonrpc: "2.0", id: ++next, method: "initialize", params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "ants-tool", version: "1" } } });
  await post({ jsonrpc: "2.0", method: "notifications/initialized" });
  const res = await post({ jsonrpc: "2.0", id: ++next, method: "tools/call", params: { name: CALL.tool, arguments: args } });
  const text = (res.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\\n");
  if (res.isError) throw new Error(text || "the MCP tool failed");
  if (res.structuredContent !== undefined) return res.structuredContent;
  try { return JSON.parse(text) } catch { return text }
}
`
}

export async function registerMcpServer(
  client: ToolsClient,
  server: { readonly url: string; readonly headers?: Readonly<Record<string, string>> },
  options: { readonly prefix?: string; readonly include?: ReadonlyArray<string> } = {},
): Promise<ToolHead[]> {
  let origin: string
  try {
    origin = new URL(server.url).origin
  } catch {
    throw new ToolError("invalid_message", `an MCP server is registered by its http(s) URL, got ${JSON.stringify(server.url)}`)
  }
  const mcp = await connectMcp(server)
  try {
    const heads: ToolHead[] = []
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const page = await mcp.listTools(cursor ? { cursor } : undefined)
      for (const t of page.tools) {
        if (options.include && !options.include.includes(t.name)) continue
        heads.push(
          await client.register({
            name: toolNameOf(options.prefix ? `${options.prefix}_${t.name}` : t.name),
            description: t.description ?? `${t.name} (MCP server ${server.url})`,
            schema: (t.inputSchema ?? { type: "object" }) as JsonSchema,
            source: moduleOf(server.url, t.name),
            level: "restricted",
            fetchAllow: [origin],
            ...(server.headers ? { env: { ANTS_MCP_HEADERS: JSON.stringify(server.headers) } } : {}),
          }),
        )
      }
      cursor = page.nextCursor
    }
    return heads
  } finally {
    await mcp.close()
  }
}
