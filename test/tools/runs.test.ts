/**
 * Registry runs in the real sandbox (isolated-vm), on a real nats-server: results, promotion
 * from testing to active after 10 successful runs, failures counted (a throw, a result that does
 * not fit its schema, a CPU loop stopped at its limit), fetch held to the allow-list; an agent
 * calling a registry tool by name in its turn (the model a fake OpenAI server); an OpenAPI
 * document of a local HTTP server becoming tools that call it with the configured credentials,
 * and a call to another origin refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type IncomingHttpHeaders } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { defineConversationalAgent } from "../../runtime/agent/mod.ts"
import { main } from "../../runtime/cli/main.ts"
import type { ModelsFile } from "../../runtime/models/mod.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { openApiOperations, registerOpenApi, registryTool, toolsClient } from "../../runtime/tools/mod.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import type { FakeServer } from "../../bench/fakes/fake-model-server.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"

const ADD_SCHEMA = { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] }

let server: NatsServer
let node: AntsNode
let nc: NatsConnection
let oai: FakeServer

const calculator = defineConversationalAgent({ type: "calculator", system: "Use the tools.", tools: [registryTool("add", { description: "Adds two numbers", parameters: ADD_SCHEMA })], maxSteps: 3 })

beforeAll(async () => {
  oai = await startFakeOpenAI()
  server = await natsFixture()
  const file: ModelsFile = { providers: { oai: { kind: "openai", baseURL: `${oai.url}/v1` } }, models: [{ name: "gpt-test", provider: "oai", capabilities: ["chat", "tools"] }] }
  node = await startNode({ agents: [calculator], nats: server.url, logger: () => {}, memory: false, models: { file, env: {} } })
  nc = await rawConnect(server.url)
})

afterAll(async () => {
  await nc?.close()
  await node?.drain()
  await server?.stop()
  await oai?.close()
})

describe("tool runs", () => {
  it("tool runs - a tool runs in the sandbox, and 10 successful runs promote it to active", async () => {
    const tools = toolsClient(nc, "promote")
    await tools.register({ name: "add", source: "export default async ({ a, b }) => ({ sum: a + b })", schema: ADD_SCHEMA, resultSchema: { type: "object", properties: { sum: { type: "number" } }, required: ["sum"] } })
    const first = await tools.run("add", { a: 2, b: 3 })
    expect(first).toMatchObject({ value: { sum: 5 }, version: 1 })
    expect(first.durationMs).toBeGreaterThan(0)
    for (let i = 0; i < 8; i++) await tools.run("add", { a: i, b: 1 })
    expect((await tools.get("add")).status).toBe("testing")
    await tools.run("add", { a: 1, b: 1 })
    const t = await tools.get("add")
    expect(t.status).toBe("active")
    expect(t.stats).toMatchObject({ runs: 10, successes: 10, failures: 0, successRate: 1 })
    expect(t.stats.meanDurationMs).toBeGreaterThan(0)
  })

  it("tool runs - a throw, a result outside its schema and a CPU loop are failed runs, counted", async () => {
    const tools = toolsClient(nc, "failures")
    await tools.register({ name: "thrower", source: "export default async () => { throw new Error('no such city') }", schema: { type: "object" } })
    await expect(tools.run("thrower", {})).rejects.toMatchObject({ code: "handler_failed", message: expect.stringMatching(/no such city/) })
    await tools.register({ name: "liar", source: "export default async () => ({ sum: 'five' })", schema: { type: "object" }, resultSchema: { type: "object", properties: { sum: { type: "number" } } } })
    await expect(tools.run("liar", {})).rejects.toMatchObject({ code: "handler_failed", message: expect.stringMatching(/result schema/) })
    await tools.register({ name: "spinner", source: "export default async () => { for (;;) {} }", schema: { type: "object" } })
    await expect(tools.run("spinner", {})).rejects.toMatchObject({ code: "timeout" })
    for (const name of ["thrower", "liar", "spinner"]) expect((await tools.get(name)).stats).toMatchObject({ runs: 1, failures: 1, successRate: 0 })
    // the node is still serving
    await tools.register({ name: "ok", source: "export default async () => 'fine'", schema: { type: "object" } })
    expect((await tools.run("ok", {})).value).toBe("fine")
  }, 120_000)

  it("tool runs - an agent calls a registry tool by name in its turn, through its tenant's registry", async () => {
    await toolsClient(nc, "default").register({ name: "add", source: "export default async ({ a, b }) => ({ sum: a + b })", schema: ADD_SCHEMA, description: "Adds two numbers" })
    oai.respond((req) => {
      const results = (req.body.messages as Array<{ role: string; content: string }>).filter((m) => m.role === "tool")
      if (results.length === 0) return { toolCalls: [{ name: "add", arguments: { a: 40, b: 2 } }] }
      return { text: `the tool said ${results[0]!.content}` }
    })
    const r = JSON.parse(new TextDecoder().decode((await nc.request("ants.default.agent.calculator.c1.Chat", new TextEncoder().encode(JSON.stringify({ text: "40+2?" })), { timeout: 30_000 })).data))
    expect(r).toMatchObject({ ok: true, value: { text: 'the tool said {"sum":42}' } })
    expect((await toolsClient(nc, "default").get("add")).stats.runs).toBe(1)
  })
})

describe("openapi tools", () => {
  let api: { url: string; seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }>; close(): Promise<void> }
  let other: { url: string; hits: number; close(): Promise<void> }

  beforeAll(async () => {
    const seen: typeof api.seen = []
    const srv = createServer((req, res) => {
      let body = ""
      req.on("data", (d) => (body += d))
      req.on("end", () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
        if (req.headers.authorization !== "Bearer s3cret") return void res.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized"}')
        const m = /^\/pets\/(\w+)/.exec(req.url!)
        if (req.method === "GET" && m) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: m[1], name: "Rex", verbose: req.url!.includes("verbose=true") }))
        if (req.method === "POST" && req.url === "/pets") return void res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ created: JSON.parse(body) }))
        res.writeHead(500).end("boom")
      })
    })
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()))
    api = { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, close: () => new Promise((r) => srv.close(() => r())) }
    let hits = 0
    const o = createServer((_q, s) => {
      hits++
      s.end("{}")
    })
    await new Promise<void>((r) => o.listen(0, "127.0.0.1", () => r()))
    other = {
      url: `http://127.0.0.1:${(o.address() as AddressInfo).port}`,
      get hits() {
        return hits
      },
      close: () => new Promise((r) => o.close(() => r())),
    }
  })

  afterAll(async () => {
    await api?.close()
    await other?.close()
  })

  const doc = () => ({
    openapi: "3.0.3",
    info: { title: "pets", version: "1" },
    servers: [{ url: api.url }],
    paths: {
      "/pets/{petId}": {
        parameters: [{ name: "petId", in: "path", required: true, schema: { type: "string" } }],
        get: { operationId: "getPet", summary: "One pet", parameters: [{ name: "verbose", in: "query", schema: { type: "boolean" } }] },
      },
      "/pets": { post: { summary: "Add a pet", requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Pet" } } } } } },
      "/broken": { get: { operationId: "broken" } },
    },
    components: { schemas: { Pet: { type: "object", properties: { name: { type: "string" } }, required: ["name"] } } },
  })

  it("openapi - each operation becomes a tool with its parameters and body as arguments", () => {
    const ops = openApiOperations(doc(), { credentials: { bearer: "s3cret" } })
    expect(ops.map((o) => o.name)).toEqual(["getPet", "post_pets", "broken"])
    expect(ops[0]!.schema).toEqual({ type: "object", properties: { petId: { type: "string" }, verbose: { type: "boolean" } }, required: ["petId"] })
    expect(ops[1]!.schema).toEqual({ type: "object", properties: { body: { type: "object", properties: { name: { type: "string" } }, required: ["name"] } }, required: ["body"] })
    expect(ops.every((o) => o.level === "restricted" && o.fetchAllow?.length === 1 && o.fetchAllow[0] === api.url)).toBe(true)
    // the credential is the module's environment, not an argument the model could see
    expect(JSON.stringify(ops[0]!.schema)).not.toContain("s3cret")
    expect(ops[0]!.source).not.toContain("s3cret")
    expect(() => openApiOperations({ swagger: "2.0" } as never)).toThrow(/OpenAPI 3/)
  })

  it("openapi - the generated tools call the local server with the credentials, in the restricted sandbox", async () => {
    const client = toolsClient(nc, "petstore")
    const { heads, tools } = await registerOpenApi(client, doc(), { credentials: { bearer: "s3cret" } })
    expect(heads.map((h) => [h.name, h.level])).toEqual([["getPet", "restricted"], ["post_pets", "restricted"], ["broken", "restricted"]])
    expect(tools.map((t) => t.name)).toEqual(["getPet", "post_pets", "broken"])
    expect((await client.run("getPet", { petId: "p7", verbose: true })).value).toEqual({ status: 200, body: { id: "p7", name: "Rex", verbose: true } })
    expect((await client.run("post_pets", { body: { name: "Tom" } })).value).toEqual({ status: 201, body: { created: { name: "Tom" } } })
    expect(api.seen.at(-1)).toMatchObject({ method: "POST", url: "/pets", body: '{"name":"Tom"}', headers: { authorization: "Bearer s3cret", "content-type": "application/json" } })
    await expect(client.run("post_pets", {})).rejects.toMatchObject({ code: "invalid_message" })
    await expect(client.run("broken", {})).rejects.toMatchObject({ code: "handler_failed", message: expect.stringMatching(/answered 500/) })
  }, 60_000)

  it("openapi - `ants tool import` registers a document's operations with a credential read from the environment", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ants-openapi-"))
    const file = join(dir, "pets.json")
    writeFileSync(file, JSON.stringify(doc()))
    const io = { out: [] as string[], err: [] as string[] }
    const run = (argv: string[]) => main([...argv, "--nats", server.url], { out: (s) => void io.out.push(s), err: (s) => void io.err.push(s) })
    try {
      expect(await run(["tool", "import", file, "--tenant", "cli-pets", "--bearer-env", "ANTS_TEST_PETS_TOKEN"])).toBe(2)
      expect(io.err.join("\n")).toMatch(/ANTS_TEST_PETS_TOKEN is not set/)
      process.env.ANTS_TEST_PETS_TOKEN = "s3cret"
      expect(await run(["tool", "import", file, "--tenant", "cli-pets", "--bearer-env", "ANTS_TEST_PETS_TOKEN", "--prefix", "pets"])).toBe(0)
      expect(io.out.join("\n")).toMatch(/registered 3 tool\(s\)/)
      expect(await run(["tool", "run", "pets_getPet", '{"petId":"p9"}', "--tenant", "cli-pets", "--json"])).toBe(0)
      expect(JSON.parse(io.out.at(-1)!)).toMatchObject({ ok: true, value: { value: { status: 200, body: { id: "p9" } } } })
    } finally {
      delete process.env.ANTS_TEST_PETS_TOKEN
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("openapi - fetch from a tool limited to the document's server is refused for another origin", async () => {
    const client = toolsClient(nc, "petstore")
    const before = other.hits
    await client.register({ name: "exfiltrate", source: `export default async () => (await fetch(${JSON.stringify(other.url)})).status`, schema: { type: "object" }, fetchAllow: [api.url] })
    await expect(client.run("exfiltrate", {})).rejects.toMatchObject({ code: "forbidden" })
    expect(other.hits).toBe(before)
  })
})
