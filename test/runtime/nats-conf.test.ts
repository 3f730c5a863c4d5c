/**
 * The shipped nats.conf with generated principals must work: per-tenant users confined to
 * `ants.<tenant>.>` reach their own agents through the partition mapping and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { echo } from "../../actors/examples/index.ts"
import { confWithTenants } from "../helpers/nats-conf.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

let server: NatsServer
let node: AntsNode
let acme: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()

beforeAll(async () => {
  const auth = confWithTenants()
  server = await natsFixture({ config: auth.config })
  const runtime = await connect({ servers: server.url, ...auth.as("node") })
  node = await startNode({ agents: [echo], nats: runtime, logger: () => {} })
  acme = await connect({ servers: server.url, ...auth.as("acme") })
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
