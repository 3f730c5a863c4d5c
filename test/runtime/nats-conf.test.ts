/**
 * The commented examples in nats.conf must work: per-tenant users confined to
 * `ants.<tenant>.>` reach their own agents through the partition mapping and nothing else.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { echo } from "../../actors/examples/index.ts"
import { PROJECT_NATS_CONF } from "../../runtime/nats-server.ts"
import { startNode, type AntsNode } from "../../runtime/node.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

/** nats.conf with its `authorization` example uncommented. */
function confWithTenants(): string {
  const text = readFileSync(PROJECT_NATS_CONF, "utf8")
  const lines = text.split("\n")
  const start = lines.findIndex((l) => l.startsWith("# authorization {"))
  expect(start).toBeGreaterThan(0)
  let depth = 0
  for (let i = start; i < lines.length; i++) {
    const l = lines[i].replace(/^# ?/, "")
    lines[i] = l
    depth += (l.match(/[{[]/g) ?? []).length - (l.match(/[}\]]/g) ?? []).length
    if (depth === 0) break
  }
  const file = join(mkdtempSync(join(tmpdir(), "ants-conf-")), "nats.conf")
  writeFileSync(file, lines.join("\n"))
  return file
}

let server: NatsServer
let node: AntsNode
let acme: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()

beforeAll(async () => {
  server = await natsFixture({ config: confWithTenants() })
  const runtime = await connect({ servers: server.url, user: "runtime", pass: "change-me" })
  node = await startNode({ agents: [echo], nats: runtime, logger: () => {} })
  acme = await connect({ servers: server.url, user: "acme", pass: "change-me-too", inboxPrefix: "_INBOX_acme" })
})

afterAll(async () => {
  await acme?.close()
  await node?.drain()
  await node?.nc.close()
  await server?.stop()
})

describe("nats.conf examples", () => {
  it("nats.conf - a tenant user reaches its own agents through the partition mapping", async () => {
    expect(node.routing).toBe("partitioned")
    const r = await acme.request("ants.acme.agent.echo.e1.Say", enc.encode('{"text":"mine"}'), { timeout: 5000 })
    expect(JSON.parse(dec.decode(r.data))).toEqual({ ok: true, value: { text: "mine" } })
  })

  it("nats.conf - a tenant user cannot address another tenant", async () => {
    const err = await acme.request("ants.globex.agent.echo.e1.Say", enc.encode('{"text":"theirs"}'), { timeout: 1500 }).catch((e) => e)
    expect(err).toBeInstanceOf(Error)
  })
})
