/**
 * Governance subjects under the server's tenant permissions: a tenant's principal reads its own
 * approval queue, hears the decisions on its requests, reads and verifies its own audit stream
 * but not another tenant's; it cannot decide or delegate an approval, read or set a policy, or
 * announce an audit notice (an operator's). Enforced by a real
 * nats-server configured by `ants auth init`'s permission sets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Kvm } from "@nats-io/kv"
import { counter } from "../../actors/examples/index.ts"
import { readAuditStream, readPolicy, verifyAudit, writePolicy, type ApprovalRecord } from "../../runtime/governance/mod.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { decodeReply } from "../../subjects/envelope.ts"
import { approvalDecidedSubject, approvalsSubject, auditNoticeSubject, POLICY_BUCKET } from "../../subjects/governance.ts"
import { confWithTenants, type AuthConf } from "../helpers/nats-conf.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

let auth: AuthConf
let server: NatsServer
let node: AntsNode
let acme: NatsConnection
let globex: NatsConnection
let operator: NatsConnection
const enc = new TextEncoder()

beforeAll(async () => {
  auth = confWithTenants(["acme", "globex"])
  server = await natsFixture({ config: auth.config })
  node = await startNode({ agents: [counter], nats: server.url, credentials: { nkey: auth.seed("node") }, authDir: auth.authDir, memory: false, models: false, logger: () => {} })
  acme = await connect({ servers: server.url, ...auth.as("acme") })
  globex = await connect({ servers: server.url, ...auth.as("globex") })
  operator = await connect({ servers: server.url, ...auth.as("operator") })
})

afterAll(async () => {
  for (const nc of [acme, globex, operator]) await nc?.close()
  await node?.drain()
  await server?.stop()
})

const request = async (nc: NatsConnection, subject: string, body: unknown) => decodeReply((await nc.request(subject, enc.encode(JSON.stringify(body)), { timeout: 5_000 })).data) as { ok: boolean; value?: unknown; error?: { code: string } }
/** What the server does with a request: its reply, or the refusal. */
const outcome = (p: Promise<unknown>) => p.then((v) => ({ ok: v }), (e: Error) => ({ refused: String(e?.message ?? e) }))

const file = (tenant: string, id: string) =>
  node.governance!.approvals.request({ id, tenant, requester: "teller/t1", action: { kind: "tool", name: "transfer", arguments: { amount: 5 }, impact: "high" }, why: ["high-impact"], context: "", severity: "high", safeDefault: "reject", mode: "human_approval", timeoutMs: 60_000 })

describe("governance permissions", () => {
  it("governance permissions - a tenant reads its own approvals and hears their decisions; it cannot decide them, nor reach another tenant's", async () => {
    await file("acme", "gp-acme")
    await file("globex", "gp-globex")
    const list = await request(acme, approvalsSubject("acme", "list"), {})
    expect((list.value as ApprovalRecord[]).map((r) => r.id)).toEqual(["gp-acme"])
    expect(await request(acme, approvalsSubject("acme", "show"), { id: "gp-acme" })).toMatchObject({ ok: true, value: { id: "gp-acme", status: "pending" } })

    // another tenant's queue: refused by the server
    expect(await outcome(request(acme, approvalsSubject("globex", "list"), {}))).toMatchObject({ refused: expect.stringMatching(/permission/i) })
    expect(await outcome(request(globex, approvalsSubject("acme", "show"), { id: "gp-acme" }))).toMatchObject({ refused: expect.stringMatching(/permission/i) })
    // deciding is an operator's: not even the tenant's own (its agents act through this principal)
    expect(await outcome(request(acme, approvalsSubject("acme", "decide"), { id: "gp-acme", decision: "approve", by: "acme-agent" }))).toMatchObject({ refused: expect.stringMatching(/permission/i) })
    expect(await outcome(request(acme, approvalsSubject("acme", "delegate"), { id: "gp-acme", to: "x", by: "acme-agent" }))).toMatchObject({ refused: expect.stringMatching(/permission/i) })
    expect((await node.governance!.approvals.get("acme", "gp-acme"))!.status).toBe("pending")

    // the decisions on its own requests reach the tenant; another tenant's subscription is refused
    const heard = acme.subscribe(approvalDecidedSubject("acme", "gp-acme"), { max: 1 })
    const spyErrors: string[] = []
    const spy = globex.subscribe(approvalDecidedSubject("acme", "gp-acme"), { max: 1, callback: (e) => void (e && spyErrors.push(String(e.message))) })
    await acme.flush()
    await globex.flush()
    expect(await request(operator, approvalsSubject("acme", "decide"), { id: "gp-acme", decision: "reject", by: "ops" })).toMatchObject({ ok: true, value: { status: "rejected" } })
    for await (const m of heard) expect(JSON.parse(new TextDecoder().decode(m.data))).toMatchObject({ id: "gp-acme", status: "rejected", decidedBy: "ops" })
    await spy.closed.catch((e: Error) => spyErrors.push(String(e.message)))
    expect(spyErrors.join(" ")).toMatch(/permission/i)
  })

  it("governance permissions - a tenant reads and verifies its own audit; another tenant's audit, the policy and a notice are refused", async () => {
    await node.governance!.record("acme", "test", { i: 1 })
    await node.governance!.record("globex", "test", { i: 2 })
    const own = await readAuditStream(acme, "acme")
    expect(own.messages.length).toBeGreaterThan(0)
    expect(await verifyAudit(acme, "acme")).toMatchObject({ ok: true })
    expect(await outcome(readAuditStream(acme, "globex"))).toMatchObject({ refused: expect.stringMatching(/permission|not (be )?read|denied/i) })
    // a refusal, not an outage: retrying cannot help
    expect(await readAuditStream(acme, "globex").catch((e: { code?: string }) => e.code)).toBe("forbidden")

    // the policy is the operator's: a tenant's principal can neither read nor write it
    await writePolicy(await new Kvm(operator).create(POLICY_BUCKET, { history: 5 }), "acme", [{ effect: "deny", tool: "wire" }], "ops")
    expect(await outcome(new Kvm(acme).open(POLICY_BUCKET).then((kv) => writePolicy(kv, "acme", [], "acme-agent")))).toMatchObject({ refused: expect.stringMatching(/permission/i) })
    expect(await outcome(new Kvm(acme).open(POLICY_BUCKET).then((kv) => readPolicy(kv, "globex")))).toMatchObject({ refused: expect.stringMatching(/permission/i) })
    expect((await readPolicy(await new Kvm(operator).open(POLICY_BUCKET), "acme")).rules).toEqual([{ effect: "deny", tool: "wire" }])

    // an audit notice is the runtime's and the operator's: a tenant cannot announce one
    const heard: string[] = []
    const sub = operator.subscribe(auditNoticeSubject("acme", "tenancy"), { callback: (_e, m) => void heard.push(m.subject) })
    await operator.flush()
    acme.publish(auditNoticeSubject("acme", "tenancy"), enc.encode(JSON.stringify({ action: "resume", tenant: "acme" })))
    await acme.flush().catch(() => undefined)
    expect(await outcome(acme.request(auditNoticeSubject("acme", "tenancy"), "{}", { timeout: 2_000 }))).toMatchObject({ refused: expect.stringMatching(/permission/i) })
    await operator.flush()
    expect(heard).toEqual([])
    sub.unsubscribe()
  })
})
