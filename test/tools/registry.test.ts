/**
 * The tool registry on a real nats-server, through its subjects (toolsClient) as any client
 * reaches it: versions, listing, deprecation with a replacement, refused registrations and
 * arguments, statistics updated from two connections at once without a lost count, promotion
 * after 10 successful runs, and tenants isolated by the server's permissions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Schema } from "effect"
import { echo } from "../../actors/examples/index.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { openToolStore, toolsClient, PROMOTION, TOOL_LEVELS, type ToolStore } from "../../runtime/tools/mod.ts"
import { TOOL_LEVEL_NAMES } from "../../runtime/cli/commands.ts"
import { confWithTenants, type AuthConf } from "../helpers/nats-conf.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const ADD = { name: "add", source: "export default async ({ a, b }) => ({ sum: a + b })", schema: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] }, description: "Adds two numbers" }

let server: NatsServer
let node: AntsNode
let nc: NatsConnection

beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({ agents: [echo], nats: server.url, logger: () => {}, memory: false, models: false })
  nc = await rawConnect(server.url)
})

afterAll(async () => {
  await nc?.close()
  await node?.drain()
  await server?.stop()
})

describe("tool registry", () => {
  it("tool registry - each registration is a new version; list and get show the current one in testing", async () => {
    const tools = toolsClient(nc, "versions")
    const v1 = await tools.register(ADD)
    const v2 = await tools.register({ ...ADD, description: "Adds a and b", level: "moderate" })
    expect([v1.version, v2.version]).toEqual([1, 2])
    const list = await tools.list()
    expect(list.map((t) => [t.name, t.version, t.level, t.status, t.description])).toEqual([["add", 2, "moderate", "testing", "Adds a and b"]])
    expect(list[0]!.stats).toMatchObject({ version: 2, runs: 0, successRate: 0 })
    const got = await tools.get("add")
    expect(got.schema).toEqual(ADD.schema)
    // both versions are kept; version 1 is still readable from the bucket
    const store = await openToolStore(nc)
    expect((await store.version("versions", "add", 1))?.description).toBe("Adds two numbers")
    store.close()
  })

  it("tool registry - a node's watch of the bucket hears each registration and deprecation", async () => {
    const store = await openToolStore(nc)
    const heard: string[] = []
    const stop = await store.onChange((tenant, name) => heard.push(`${tenant}/${name}`))
    try {
      const tools = toolsClient(nc, "watched")
      await tools.register(ADD)
      await tools.register({ ...ADD, name: "sum" })
      await tools.deprecate("add", "sum")
      await waitUntil(() => heard.length >= 3, { timeoutMs: 10_000, message: "three head changes" })
      expect(heard).toEqual(["watched/add", "watched/sum", "watched/add"])
    } finally {
      stop()
      store.close()
    }
  })

  it("tool registry - an Effect Schema is stored as its JSON Schema", async () => {
    const tools = toolsClient(nc, "effect")
    await tools.register({ name: "greet", source: "export default async ({ who }) => `hi ${who}`", schema: Schema.Struct({ who: Schema.String }) })
    const t = await tools.get("greet")
    expect(t.schema).toMatchObject({ type: "object", required: ["who"], properties: { who: { type: "string" } } })
  })

  it("tool registry - deprecation names a replacement that exists; the tool still lists, marked deprecated", async () => {
    const tools = toolsClient(nc, "deprecation")
    await tools.register(ADD)
    await expect(tools.deprecate("add", "sum")).rejects.toMatchObject({ _tag: "ToolError", code: "not_found" })
    await tools.register({ ...ADD, name: "sum" })
    await expect(tools.deprecate("add", "add")).rejects.toMatchObject({ code: "invalid_message" })
    const head = await tools.deprecate("add", "sum", "sum takes lists")
    expect(head.deprecated).toMatchObject({ replacement: "sum", reason: "sum takes lists" })
    const byName = Object.fromEntries((await tools.list()).map((t) => [t.name, t.status]))
    expect(byName).toEqual({ add: "deprecated", sum: "testing" })
  })

  it("tool registry - bad registrations and unknown tools are refused with what to do, and nothing is stored", async () => {
    const tools = toolsClient(nc, "refusals")
    await expect(tools.register({ ...ADD, name: "bad name" })).rejects.toMatchObject({ code: "invalid_message", message: expect.stringMatching(/letters, digits/) })
    await expect(tools.register({ ...ADD, source: "async function f() {}" })).rejects.toMatchObject({ code: "invalid_message", message: expect.stringMatching(/default export/) })
    await expect(tools.register({ ...ADD, schema: { type: "no-such-type" } })).rejects.toMatchObject({ code: "invalid_message", message: expect.stringMatching(/does not compile/) })
    await expect(tools.register({ ...ADD, level: "root" as never })).rejects.toMatchObject({ code: "invalid_message", message: expect.stringMatching(/restricted, moderate, permissive/) })
    await expect(tools.register({ ...ADD, source: `export default async () => 1 // ${"x".repeat(300 * 1024)}` })).rejects.toMatchObject({ code: "too_large" })
    expect(await tools.list()).toEqual([])
    await expect(tools.get("nope")).rejects.toMatchObject({ code: "not_found", message: expect.stringMatching(/tool list/) })
    await expect(tools.run("nope", {})).rejects.toMatchObject({ code: "not_found" })
    // a body that is not JSON gets an envelope, not silence
    const r = await nc.request("ants.refusals.tools.List", new TextEncoder().encode("{nope"), { timeout: 5_000 })
    expect(JSON.parse(new TextDecoder().decode(r.data))).toMatchObject({ ok: false, error: { code: "invalid_message" } })
  })

  it("tool registry - arguments that do not fit the schema are refused before any code runs, with the issues", async () => {
    const tools = toolsClient(nc, "arguments")
    await tools.register(ADD)
    await expect(tools.run("add", { a: 1 })).rejects.toMatchObject({ code: "invalid_message", details: { issues: [{ path: "/", message: expect.stringMatching(/b/) }] } })
    await expect(tools.run("add", { a: "1", b: 2 })).rejects.toMatchObject({ code: "invalid_message", message: expect.stringMatching(/\/a must be number/) })
    // refused arguments are not runs
    expect((await tools.get("add")).stats.runs).toBe(0)
  })

  it("tool registry - statistics written from two connections at once lose no count, and promote the tool after 10 successes", async () => {
    const tools = toolsClient(nc, "stats")
    const head = await tools.register(ADD)
    const other = await rawConnect(server.url)
    const [a, b]: ToolStore[] = await Promise.all([openToolStore(nc), openToolStore(other)])
    try {
      // 9 successes: still testing
      for (let i = 0; i < 9; i++) await a!.recordOutcome("stats", "add", head.version, true, 4)
      expect((await tools.get("add")).status).toBe("testing")
      // 2 x 40 outcomes raced from two connections, a failure every 10th
      const race = (s: ToolStore, n: number) => Promise.all(Array.from({ length: n }, (_, i) => s.recordOutcome("stats", "add", head.version, i % 10 !== 9, 10)))
      await Promise.all([race(a!, 40), race(b!, 40)])
      const t = await tools.get("add")
      expect(t.stats.runs).toBe(89)
      expect(t.stats.successes).toBe(9 + 72)
      expect(t.stats.failures).toBe(8)
      expect(t.stats.window.length).toBe(20)
      expect(t.stats.meanDurationMs).toBeCloseTo((9 * 4 + 80 * 10) / 89, 6)
      expect(t.stats.lastUsedAt).toBeDefined()
      expect(t.status).toBe("active")
      expect(t.stats.promotedAt).toBeDefined()
      // an outcome of a version no longer current is not counted; a new version starts in testing
      await tools.register({ ...ADD, description: "v2" })
      await a!.recordOutcome("stats", "add", head.version, true, 1)
      const v2 = await tools.get("add")
      expect([v2.version, v2.status, v2.stats.runs]).toEqual([2, "testing", 0])
    } finally {
      a!.close()
      b!.close()
      await other.close()
    }
  })

  it("tool registry - promotion needs 10 successes at a success rate of at least 0.9 over the last runs", async () => {
    const { withOutcome, emptyStats } = await import("../../runtime/tools/stats.ts")
    const at = new Date()
    let s = emptyStats(1)
    // 3 failures first, then successes
    for (let i = 0; i < 3; i++) s = withOutcome(s, false, 1, at)
    let runsToPromotion = 3
    while (s.promotedAt === undefined) {
      s = withOutcome(s, true, 1, at)
      runsToPromotion++
    }
    expect(s.successes).toBeGreaterThanOrEqual(PROMOTION.minSuccesses)
    expect(s.successRate).toBeGreaterThanOrEqual(PROMOTION.minSuccessRate)
    // within the first 20 runs 3 failures keep the rate under 0.9 (17/20 at best); at run 21 the
    // window holds 2 failures and 18 successes: 0.9
    expect(runsToPromotion).toBe(21)
    expect(TOOL_LEVEL_NAMES).toEqual(TOOL_LEVELS)
  })
})

describe("tool registry - tenants", () => {
  let auth: AuthConf
  let authServer: NatsServer
  let authNode: AntsNode
  let acme: NatsConnection
  let globex: NatsConnection

  beforeAll(async () => {
    auth = confWithTenants(["acme", "globex"])
    authServer = await natsFixture({ config: auth.config })
    authNode = await startNode({ agents: [echo], nats: authServer.url, credentials: { nkey: auth.seed("node") }, authDir: auth.authDir, logger: () => {}, memory: false, models: false })
    acme = await connect({ servers: authServer.url, ...auth.as("acme") })
    globex = await connect({ servers: authServer.url, ...auth.as("globex") })
  })

  afterAll(async () => {
    await acme?.close()
    await globex?.close()
    await authNode?.drain()
    await authServer?.stop()
  })

  it("tool registry - a tenant sees and reaches only its own tools; the server refuses another tenant's registry and the bucket", async () => {
    await toolsClient(acme, "acme").register(ADD)
    await toolsClient(globex, "globex").register({ ...ADD, name: "secret" })
    expect((await toolsClient(acme, "acme").list()).map((t) => t.name)).toEqual(["add"])
    expect((await toolsClient(globex, "globex").list()).map((t) => t.name)).toEqual(["secret"])
    // acme's principal may not publish on globex's registry subjects: no answer comes back
    await expect(toolsClient(acme, "globex", { timeoutMs: 1_500 }).list()).rejects.toMatchObject({ _tag: "ToolError" })
    await expect(toolsClient(acme, "globex", { timeoutMs: 1_500 }).run("secret", { a: 1, b: 2 })).rejects.toMatchObject({ _tag: "ToolError" })
    // nor write the bucket, even its own keys: statistics and status cannot be forged
    await expect(acme.request("$KV.ants_tools.acme.add.stats", new TextEncoder().encode("{}"), { timeout: 1_500 })).rejects.toThrow()
  })
})
