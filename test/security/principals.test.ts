/**
 * The shipped nats.conf with the principals `ants auth init` writes, against a real server:
 * anonymous clients are refused, and a tenant principal is refused by the server on everything
 * that is not its own (subjects, KV keys, streams, dead letters, node control, `>`), while its
 * own space works. The node principal runs a node; the operator reaches what the CLI needs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { echo } from "../../actors/examples/index.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { listNodes } from "../../runtime/cluster/inspect-client.ts"
import { agentSubject, nodeSubject, nodesBroadcastSubject, taskSubject, topicSubject } from "../../subjects/grammar.ts"
import { STATE_BUCKET, stateKey } from "../../subjects/kv.ts"
import { TASKS_DLQ_STREAM, TASKS_STREAM, taskDeadLetterSubject, taskStatusSubject } from "../../subjects/tasks.ts"
import { ACCOUNT_CONNZ_SUBJECT, MAIL_STREAM } from "../../subjects/cluster.ts"
import { allConnectionsGone, connRefs } from "../../runtime/cluster/gone-check.ts"
import { confWithTenants, type AuthConf } from "../helpers/nats-conf.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

let auth: AuthConf
let server: NatsServer
let node: AntsNode
let acme: NatsConnection
let globex: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()

beforeAll(async () => {
  auth = confWithTenants(["acme", "globex"])
  server = await natsFixture({ config: auth.config })
  node = await startNode({ agents: [echo], nats: server.url, credentials: { nkey: auth.seed("node") }, logger: () => {} })
  acme = watchViolations(await connect({ servers: server.url, ...auth.as("acme") }))
  globex = await connect({ servers: server.url, ...auth.as("globex") })
})

afterAll(async () => {
  await acme?.close()
  await globex?.close()
  await node?.drain()
  await server?.stop()
})

/** Permission errors the server sent each connection (the -ERR of a mapped subject names the subject after mapping). */
const violations = new Map<NatsConnection, string[]>()
function watchViolations(nc: NatsConnection): NatsConnection {
  const seen: string[] = []
  violations.set(nc, seen)
  void (async () => {
    for await (const st of nc.status()) if (st.type === "error") seen.push(String((st as { error?: Error }).error?.message ?? ""))
  })()
  return nc
}

/**
 * The server refuses a request (publish) with a permissions violation: the request fails with
 * it, or (an agent subject, checked after the partition mapping) times out while the server
 * reports the violation on the mapped subject.
 */
async function refusedRequest(nc: NatsConnection, subject: string, body = "{}"): Promise<void> {
  const before = violations.get(nc)?.length ?? 0
  const e = await nc.request(subject, enc.encode(body), { timeout: 1500 }).then(
    (m) => new Error(`expected a refusal of ${subject}, got ${dec.decode(m.data)}`),
    (err: Error) => err,
  )
  const reported = (violations.get(nc) ?? []).slice(before).join(" ")
  expect(`${e.message} ${String((e as { cause?: unknown }).cause ?? "")} ${reported}`, subject).toMatch(/Permissions Violation/i)
}

/** The server refuses a subscription with a permissions violation. */
async function refusedSubscription(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject)
  const r = await sub.closed
  expect(r instanceof Error ? r.message : "subscription stayed open", subject).toMatch(/Permissions Violation/i)
}

describe("principals", () => {
  it("principals - the shipped configuration refuses anonymous connections and wrong keys", async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i)
    const otherDeployment = confWithTenants(["acme"])
    await expect(connect({ servers: server.url, reconnect: false, ...otherDeployment.as("acme") })).rejects.toThrow(/Authorization Violation/i)
  })

  it("principals - auth init writes secrets private to their owner and no secret into the server's files", () => {
    expect(statSync(auth.authDir).mode & 0o777).toBe(0o700)
    for (const f of ["node.nk", "operator.nk", "routes.conf", join("tenants", "acme.nk")]) expect(statSync(join(auth.authDir, f)).mode & 0o777).toBe(0o600)
    const conf = readFileSync(join(auth.authDir, "auth.conf"), "utf8")
    expect(conf).not.toMatch(/\bS[UA][A-Z2-7]{50,}/)
  })

  it("principals - a tenant reaches its own agents and asks through its own inbox", async () => {
    const r = await acme.request(agentSubject({ tenant: "acme", type: "echo", id: "e1", tag: "Say" }), enc.encode('{"text":"mine"}'), { timeout: 5000 })
    expect(JSON.parse(dec.decode(r.data))).toEqual({ ok: true, value: { text: "mine" } })
  })

  it("principals - a tenant is refused on another tenant's agents, topics, tasks, durable mail and task status", async () => {
    await refusedRequest(acme, agentSubject({ tenant: "globex", type: "echo", id: "e1", tag: "Say" }), '{"text":"theirs"}')
    await refusedRequest(acme, "ants._part.3.globex.echo.e1.Say")
    await refusedRequest(acme, topicSubject("globex", "orders.created"))
    await refusedRequest(acme, taskSubject("globex", "orders.ship"))
    await refusedRequest(acme, "ants.globex.mail.echo.e1.Say")
    await refusedRequest(acme, taskStatusSubject("globex", "t1"))
    await refusedSubscription(acme, "ants.globex.>")
    await refusedSubscription(acme, "ants._sys.lifecycle.globex.>")
  })

  it("principals - a tenant is refused on actor state, streams and dead letters, its own included, and cannot forge audit receipts", async () => {
    await refusedRequest(acme, `$KV.${STATE_BUCKET}.${stateKey({ tenant: "globex", type: "counter", id: "c1" })}`, '{"v":1,"state":{"total":1000000}}')
    await refusedRequest(acme, `$KV.${STATE_BUCKET}.${stateKey({ tenant: "acme", type: "counter", id: "c1" })}`, '{"v":1,"state":{"total":1000000}}')
    for (const stream of [TASKS_STREAM, TASKS_DLQ_STREAM, MAIL_STREAM, `KV_${STATE_BUCKET}`]) {
      await refusedRequest(acme, `$JS.API.STREAM.INFO.${stream}`)
      await refusedRequest(acme, `$JS.API.STREAM.PURGE.${stream}`)
      await refusedRequest(acme, `$JS.API.STREAM.MSG.GET.${stream}`, '{"seq":1}')
    }
    await refusedRequest(acme, `$JS.API.CONSUMER.CREATE.${TASKS_DLQ_STREAM}`)
    await refusedSubscription(acme, taskDeadLetterSubject("globex"))
    await refusedSubscription(acme, taskDeadLetterSubject("acme"))
    await refusedRequest(acme, "ants.acme.audit.suspended")
  })

  it("principals - a tenant is refused on node control, other inboxes and everything (>)", async () => {
    await refusedRequest(acme, nodeSubject(node.id, "stats"))
    await refusedRequest(acme, nodesBroadcastSubject("stats"))
    await refusedRequest(acme, nodeSubject(node.id, "supervision", "reset"))
    await refusedSubscription(acme, ">")
    await refusedSubscription(acme, "_INBOX.>")
    await refusedSubscription(acme, "_INBOX_globex.>")
    await refusedSubscription(acme, "$KV.>")
    // and the refusals did not cost it its connection
    expect(acme.isClosed()).toBe(false)
    const r = await acme.request(agentSubject({ tenant: "acme", type: "echo", id: "e2", tag: "Say" }), enc.encode('{"text":"still"}'), { timeout: 5000 })
    expect(JSON.parse(dec.decode(r.data)).ok).toBe(true)
  })

  it("principals - the operator inspects nodes; the node principal cannot be used to subscribe to everything", async () => {
    const op = await connect({ servers: server.url, ...auth.as("operator") })
    const nodes = await listNodes(op, { timeoutMs: 2000 })
    expect(nodes.map((n) => n.node)).toEqual([node.id])
    await refusedSubscription(op, ">")
    await op.close()
    const asNode = await connect({ servers: server.url, ...auth.as("node") })
    await refusedSubscription(asNode, ">")
    await refusedSubscription(asNode, "$SYS.>")
    await asNode.close()
  })

  it("principals - the node principal lists its account's connections (to tell a crashed node), a tenant cannot; no other $SYS request is open to either", async () => {
    const asNode = watchViolations(await connect({ servers: server.url, ...auth.as("node") }))
    // the running node's own entry names its connections; the server lists them, and a crash would show as their absence
    const [me] = connRefs([asNode])
    expect(await allConnectionsGone(asNode, [me])).toBe(false)
    expect(await allConnectionsGone(asNode, [{ s: me.s, c: 999_999 }])).toBe(true)
    await refusedRequest(asNode, "$SYS.REQ.SERVER.PING.CONNZ")
    await refusedRequest(acme, ACCOUNT_CONNZ_SUBJECT)
    await asNode.close()
  })
})
