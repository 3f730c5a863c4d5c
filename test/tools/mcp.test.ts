/**
 * MCP both ways, with the reference SDK on both ends. The swarm as a server: a real MCP client
 * spawns `ants mcp` (the real binary, over stdio) and reaches it over Streamable HTTP (bearer
 * token required), lists the example agents' tags and the tenant's registry tools, and calls
 * them. MCP servers as tools: a stdio server (a child process) and an HTTP server started by the
 * test become tools that a conversational agent calls in its turn, the model (a fake OpenAI
 * server through the real SDK) choosing them.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { z } from "zod"
import { counter, echo } from "../../actors/examples/index.ts"
import { defineConversationalAgent } from "../../runtime/agent/mod.ts"
import { main } from "../../runtime/cli/main.ts"
import type { ModelsFile } from "../../runtime/models/mod.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { mcpTools, registerMcpServer, serveMcpHttp, toolsClient, type McpHttpServer, type McpToolset } from "../../runtime/tools/mod.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import type { FakeServer } from "../../bench/fakes/fake-model-server.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"

const ROOT = new URL("../../", import.meta.url).pathname
const TOKEN = "test-token-0123456789abcdef"

let server: NatsServer
let node: AntsNode
let nc: NatsConnection

beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({ agents: [echo, counter], nats: server.url, logger: () => {}, memory: false, models: false })
  nc = await rawConnect(server.url)
  await toolsClient(nc, "default").register({ name: "add", source: "export default async ({ a, b }) => ({ sum: a + b })", schema: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] }, description: "Adds two numbers" })
})

afterAll(async () => {
  await nc?.close()
  await node?.drain()
  await server?.stop()
})

const texts = (r: Record<string, unknown>) => (r.content as Array<{ text?: string }>).map((c) => c.text).join("")

describe("mcp server (ants mcp)", () => {
  it("mcp server - a real MCP client spawns `ants mcp` over stdio, lists agents' tags and registry tools, and calls an agent", async () => {
    const client = new Client({ name: "test", version: "1.0.0" })
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, "runtime/cli/bin.mjs"), "mcp", "--agents", "./actors/examples/index.ts", "--nats", server.url],
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), NATS_URL: "" },
      stderr: "pipe",
    })
    await client.connect(transport)
    try {
      const { tools } = await client.listTools()
      const names = tools.map((t) => t.name)
      expect(names).toEqual(expect.arrayContaining(["echo_Say", "counter_Add", "add"]))
      const say = tools.find((t) => t.name === "echo_Say")!
      expect(say.inputSchema).toMatchObject({ type: "object", required: ["id", "message"], properties: { message: { type: "object", properties: { text: { type: "string" } } } } })
      expect(tools.find((t) => t.name === "add")!.inputSchema).toMatchObject({ required: ["a", "b"] })
      const r = await client.callTool({ name: "counter_Add", arguments: { id: "mcp-1", message: { n: 4 } } })
      expect(r.isError).toBeFalsy()
      expect(r.structuredContent).toEqual({ total: 4 })
      const again = await client.callTool({ name: "counter_Add", arguments: { id: "mcp-1", message: { n: 3 } } })
      expect(again.structuredContent).toEqual({ total: 7 })
      // a bad message is the agent's own refusal, handed back as an error result
      const bad = await client.callTool({ name: "counter_Add", arguments: { id: "mcp-1", message: { n: "x" } } })
      expect(bad.isError).toBe(true)
      expect(texts(bad)).toMatch(/^invalid_message/)
      const unknown = await client.callTool({ name: "nope", arguments: {} })
      expect(unknown.isError).toBe(true)
    } finally {
      await client.close()
    }
  }, 60_000)

  it("mcp server - Streamable HTTP refuses a request without the bearer token and serves one with it", async () => {
    const http: McpHttpServer = await serveMcpHttp({ nc, tenant: "default", agents: [echo], token: TOKEN })
    try {
      expect(http.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
      const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "curl", version: "1" } } }
      const post = (headers: Record<string, string>) => fetch(http.url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: JSON.stringify(init) })
      expect((await post({})).status).toBe(401)
      expect((await post({ authorization: "Bearer wrong-token-0123456789ab" })).status).toBe(401)
      expect((await post({ authorization: `Bearer ${TOKEN}` })).status).toBe(200)

      const client = new Client({ name: "test", version: "1.0.0" })
      await client.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }))
      try {
        const names = (await client.listTools()).tools.map((t) => t.name)
        expect(names).toEqual(expect.arrayContaining(["echo_Say", "add"]))
        const r = await client.callTool({ name: "echo_Say", arguments: { id: "e1", message: { text: "over http" } } })
        expect(r.structuredContent).toEqual({ text: "over http" })
      } finally {
        await client.close()
      }
      // without a token the SDK client cannot even initialise
      const anonymous = new Client({ name: "anon", version: "1.0.0" })
      await expect(anonymous.connect(new StreamableHTTPClientTransport(new URL(http.url)))).rejects.toThrow()
    } finally {
      await http.close()
    }
  })

  it("mcp server - `ants mcp --http` refuses to start without a token", async () => {
    const err: string[] = []
    const code = await main(["mcp", "--http", "0", "--nats", server.url], { out: () => {}, err: (s) => void err.push(s) })
    expect(code).toBe(2)
    expect(err.join("\n")).toMatch(/bearer token/)
  })
})

describe("mcp servers as agent tools", () => {
  let oai: FakeServer
  let http: { url: string; close(): Promise<void> }
  let stdioTools: McpToolset
  let httpTools: McpToolset
  let agentNode: AntsNode

  beforeAll(async () => {
    oai = await startFakeOpenAI()
    // an MCP server over Streamable HTTP, as a service would run one
    const srv = createServer(async (req, res) => {
      if (req.headers.authorization !== "Bearer stock-token") return void res.writeHead(401).end()
      const mcp = new McpServer({ name: "stock", version: "1.0.0" })
      mcp.registerTool("stock_level", { description: "Units in stock of a product", inputSchema: { sku: z.string() } }, async ({ sku }) => ({
        content: [{ type: "text", text: String(sku.length * 10) }],
        structuredContent: { sku, units: sku.length * 10 },
      }))
      const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
      res.on("close", () => void t.close())
      await mcp.connect(t)
      await t.handleRequest(req, res)
    })
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()))
    http = { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/mcp`, close: () => new Promise((r) => srv.close(() => r())) }
    stdioTools = await mcpTools({ command: process.execPath, args: [join(ROOT, "test/tools/fixtures/weather-mcp.mjs")], cwd: ROOT })
    httpTools = await mcpTools({ url: http.url, headers: { authorization: "Bearer stock-token" } }, { prefix: "shop" })
    const shopper = defineConversationalAgent({ type: "shopper", system: "Answer with tools.", tools: [...stdioTools.tools, ...httpTools.tools], maxSteps: 4 })
    const file: ModelsFile = { providers: { oai: { kind: "openai", baseURL: `${oai.url}/v1` } }, models: [{ name: "gpt-test", provider: "oai", capabilities: ["chat", "tools"] }] }
    agentNode = await startNode({ agents: [shopper], nats: server.url, nodeId: "n-mcp", logger: () => {}, memory: false, models: { file, env: {} } })
  })

  afterAll(async () => {
    await agentNode?.drain()
    await stdioTools?.close()
    await httpTools?.close()
    await http?.close()
    await oai?.close()
  })

  it("mcp tools - a stdio and an HTTP MCP server become tools the model picks and the agent's turn calls", async () => {
    expect(stdioTools.tools.map((t) => t.name)).toEqual(["forecast", "fail"])
    expect(httpTools.tools.map((t) => t.name)).toEqual(["shop_stock_level"])
    expect(stdioTools.tools[0]!.spec.parameters).toMatchObject({ type: "object", properties: { city: { type: "string" } }, required: ["city"] })
    oai.respond((req) => {
      const msgs = req.body.messages as Array<{ role: string; content: string }>
      const results = msgs.filter((m) => m.role === "tool").map((m) => m.content)
      if (results.length === 0) {
        // the model sees both servers' tools and calls one of each
        const offered = (req.body.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)
        if (!offered.includes("forecast") || !offered.includes("shop_stock_level")) return { text: `missing tools: ${offered.join(",")}` }
        return { toolCalls: [{ name: "forecast", arguments: { city: "Oslo" } }, { name: "shop_stock_level", arguments: { sku: "boots" } }] }
      }
      return { text: `results: ${results.join(" | ")}` }
    })
    const client = await rawConnect(server.url)
    try {
      const r = JSON.parse(new TextDecoder().decode((await client.request("ants.default.agent.shopper.s1.Chat", new TextEncoder().encode(JSON.stringify({ text: "Do I need boots in Oslo?" })), { timeout: 30_000 })).data))
      expect(r.ok).toBe(true)
      expect(r.value.text).toContain('"sky":"snow"')
      expect(r.value.text).toContain('"units":50')
    } finally {
      await client.close()
    }
  }, 60_000)

  it("mcp tools - an HTTP MCP server registered for a tenant becomes registry tools that speak MCP from the sandbox", async () => {
    const client = toolsClient(nc, "mcp-tenant")
    const heads = await registerMcpServer(client, { url: http.url, headers: { authorization: "Bearer stock-token" } }, { prefix: "shop" })
    expect(heads.map((h) => [h.name, h.level])).toEqual([["shop_stock_level", "restricted"]])
    expect((await client.get("shop_stock_level")).schema).toMatchObject({ properties: { sku: { type: "string" } }, required: ["sku"] })
    expect((await client.run("shop_stock_level", { sku: "boots" })).value).toEqual({ sku: "boots", units: 50 })
    await expect(client.run("shop_stock_level", { sku: 5 })).rejects.toMatchObject({ code: "invalid_message" })
    expect((await client.get("shop_stock_level")).stats.runs).toBe(1)
    // the header is the module's environment, not an argument: without it the server refuses the registration
    expect(JSON.stringify((await client.get("shop_stock_level")).schema)).not.toContain("stock-token")
    await expect(registerMcpServer(client, { url: http.url }, { prefix: "nokey" })).rejects.toMatchObject({ _tag: "ToolError", code: "unavailable" })
  }, 60_000)

  it("mcp tools - an error result is the tool's error, and arguments that do not fit are refused before the call", async () => {
    const fail = stdioTools.tools.find((t) => t.name === "fail")!
    const ctx = { idempotencyKey: "k", askAgent: Object.assign(async () => null, {}) }
    await expect(fail.run({}, ctx)).rejects.toMatchObject({ _tag: "ToolError", message: expect.stringMatching(/weather service is down/) })
    const forecast = stdioTools.tools.find((t) => t.name === "forecast")!
    expect(forecast.decode({ city: 7 })._tag).toBe("Left")
    expect(await forecast.run({ city: "Rome" }, ctx)).toEqual({ city: "Rome", sky: "sun", high: 4 })
  })

  it("mcp tools - a server that cannot be reached is a ToolError unavailable naming it (stdio command missing, HTTP port closed)", async () => {
    await expect(mcpTools({ command: join(ROOT, "no-such-mcp-server"), args: ["--x"] })).rejects.toMatchObject({
      _tag: "ToolError",
      code: "unavailable",
      message: expect.stringContaining(`could not connect to the MCP server ${join(ROOT, "no-such-mcp-server")} --x`),
    })
    // a port that was free a moment ago: nothing listens there
    const probe = createServer()
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((r) => probe.close(() => r()))
    const url = `http://127.0.0.1:${port}/mcp`
    await expect(mcpTools({ url })).rejects.toMatchObject({ _tag: "ToolError", code: "unavailable", message: expect.stringContaining(`could not connect to the MCP server ${url}`) })
  })
})
