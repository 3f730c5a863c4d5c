/**
 * The HTTP gateway against a real nats-server with per-tenant principals and a real node: asks
 * and tells by type, id and tag, error envelopes under their statuses, no anonymous access,
 * tenants kept apart (by the gateway and, underneath, by the server), tasks, wakes and the
 * agent repository.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import Ajv2020 from "ajv/dist/2020.js"
import { topicSubject } from "../../subjects/grammar.ts"
import { OPENAPI_31_MINIMAL } from "./openapi-schema.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { gatewaySwarm, type GatewaySwarm } from "./fixture.ts"

let s: GatewaySwarm
beforeAll(async () => {
  s = await gatewaySwarm()
}, 60_000)
afterAll(async () => {
  await s?.stop()
})

const json = async (r: Response): Promise<{ status: number; body: any }> => ({ status: r.status, body: await r.json() })

describe("gateway", () => {
  it("gateway - asks an agent by type, id and tag and answers the reply envelope", async () => {
    expect(await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/c1/Add", { n: 5 }))).toEqual({ status: 200, body: { ok: true, value: { total: 5 } } })
    expect(await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/c1/Add", { n: 2 }))).toEqual({ status: 200, body: { ok: true, value: { total: 7 } } })
    // the operator names the tenant; acme's counter is the one it reads
    expect(await json(await s.call(s.tokens.operator, "POST", "/v1/agents/counter/c1/Get?tenant=acme"))).toEqual({ status: 200, body: { ok: true, value: { total: 7 } } })
    expect(await json(await s.call(s.tokens.operator, "POST", "/v1/agents/counter/c1/Get?tenant=globex"))).toEqual({ status: 200, body: { ok: true, value: { total: 0 } } })
  })

  it("gateway - tells an agent (plain and durable) and the message arrives", async () => {
    const r = await s.call(s.tokens.acme, "POST", "/v1/agents/counter/t1/Add/tell", { n: 3 })
    expect(r.status).toBe(202)
    expect(await r.json()).toEqual({ ok: true, value: null })
    const d = await s.call(s.tokens.acme, "POST", "/v1/agents/counter/t1/Add/tell?durable=true", { n: 4 }, { "idempotency-key": "k1" })
    expect(d.status).toBe(202)
    expect(((await d.json()) as any).value).toMatchObject({ duplicate: false })
    const again = await s.call(s.tokens.acme, "POST", "/v1/agents/counter/t1/Add/tell?durable=true", { n: 4 }, { "idempotency-key": "k1" })
    expect(((await again.json()) as any).value).toMatchObject({ duplicate: true })
    await waitUntil(async () => ((await (await s.call(s.tokens.acme, "POST", "/v1/agents/counter/t1/Get")).json()) as any).value.total === 7, { timeoutMs: 15_000, message: "tells applied" })
  })

  it("gateway - error envelopes come under their HTTP statuses with the error body", async () => {
    const bad = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/c1/Add", { n: "five" }))
    expect(bad.status).toBe(400)
    expect(bad.body.ok).toBe(false)
    expect(bad.body.error.code).toBe("invalid_message")
    expect(bad.body.error.details.length).toBeGreaterThan(0)
    const notJson = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/c1/Add", "{n:"))
    expect([notJson.status, notJson.body.error.code]).toEqual([400, "invalid_message"])
    const tag = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/c1/Nope", {}))
    expect([tag.status, tag.body.error.code]).toEqual([404, "unknown_tag"])
    const type = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/no_such_type/x/Go", {}))
    expect(type.body.ok).toBe(false)
    expect(["unknown_type", "unavailable"]).toContain(type.body.error.code)
    expect(type.status).toBe(type.body.error.code === "unknown_type" ? 404 : 503)
    const failed = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/f1/Fail", { reason: "on purpose" }))
    expect([failed.status, failed.body.error.code]).toEqual([500, "handler_failed"])
    const subject = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/bad.id/Add", { n: 1 }))
    expect([subject.status, subject.body.error.code]).toEqual([400, "invalid_subject"])
    const timeout = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/c1/Add?timeout=soon", { n: 1 }))
    expect([timeout.status, timeout.body.error.code]).toEqual([400, "invalid_request"])
    // over the server's max_payload: refused before anything is sent; over the gateway's limit: before it is read whole
    const big = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/echo/e1/Say", { text: "x".repeat(2 * 1024 * 1024) }))
    expect([big.status, big.body.error.code]).toEqual([413, "too_large"])
    const huge = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/echo/e1/Say", { text: "x".repeat(9 * 1024 * 1024) }))
    expect([huge.status, huge.body.error.code]).toEqual([413, "too_large"])
    expect(huge.body.error.message).toContain("gateway's limit")
    // the same body sent chunked (no length declared) is counted as it is read, and refused the same way
    const chunk = new TextEncoder().encode("x".repeat(1024 * 1024))
    let sent = 0
    const streamed = await fetch(`${s.listener.url}/v1/agents/echo/e1/Say`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.tokens.acme}`, "content-type": "application/json" },
      body: new ReadableStream({ pull: (ctl) => (sent++ < 9 ? ctl.enqueue(chunk) : ctl.close()) }),
      duplex: "half",
    } as RequestInit)
    expect(streamed.status).toBe(413)
    expect(((await streamed.json()) as any).error.code).toBe("too_large")
    // and a small chunked body goes through
    const small = await fetch(`${s.listener.url}/v1/agents/echo/e1/Say`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.tokens.acme}`, "content-type": "application/json" },
      body: new ReadableStream({ start: (ctl) => (ctl.enqueue(new TextEncoder().encode('{"text":"chunked"}')), ctl.close()) }),
      duplex: "half",
    } as RequestInit)
    expect(((await small.json()) as any).value).toEqual({ text: "chunked" })
  })

  it("gateway - refuses requests without a known bearer token", async () => {
    const none = await s.call(undefined, "POST", "/v1/agents/counter/c1/Get")
    expect(none.status).toBe(401)
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/)
    expect(((await none.json()) as any).error.code).toBe("unauthenticated")
    const wrong = await s.call("not-a-token-of-this-gateway-0000", "POST", "/v1/agents/counter/c1/Get")
    expect(wrong.status).toBe(401)
    for (const path of ["/v1/types", "/v1/openapi.json", "/v1/tasks/x", "/v1/nodes"]) expect((await s.call(undefined, "GET", path)).status, path).toBe(401)
  })

  it("gateway - a tenant's token never reaches another tenant; the server refuses its principal too", async () => {
    await s.call(s.tokens.globex, "POST", "/v1/agents/counter/g1/Add", { n: 9 })
    const cross = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/g1/Get?tenant=globex"))
    expect([cross.status, cross.body.error.code]).toEqual([403, "forbidden"])
    const tell = await s.call(s.tokens.acme, "POST", "/v1/agents/counter/g1/Add/tell?tenant=globex", { n: 1 })
    expect(tell.status).toBe(403)
    const ops = await s.call(s.tokens.acme, "GET", "/v1/nodes")
    expect(ops.status).toBe(403)
    // the connection acme's token acts through is acme's principal: the server itself refuses globex's subjects
    const acmeCaller = s.gateway.tokens.callers.find((c) => c.tenant === "acme" && !c.operator)!
    const nc = await s.gateway.connections.of(acmeCaller)
    await expect(nc.request(topicSubject("globex", "probe"), "{}", { timeout: 5_000 })).rejects.toThrow(/Permissions Violation/i)
    expect(((await (await s.call(s.tokens.globex, "POST", "/v1/agents/counter/g1/Get")).json()) as any).value.total).toBe(9)
  })

  it("gateway - submits a task and reads its status; operators list and resubmit dead letters", async () => {
    const sub = await json(await s.call(s.tokens.acme, "POST", "/v1/tasks", { capability: "gw.work", payload: { n: 21 } }))
    expect(sub.status).toBe(202)
    const id = sub.body.value.id as string
    const done = await waitUntil(async () => {
      const r = await json(await s.call(s.tokens.acme, "GET", `/v1/tasks/${id}`))
      return r.body.value?.state === "completed" ? r.body.value : undefined
    }, { timeoutMs: 20_000, message: "task completed" })
    expect(done.result).toEqual({ doubled: 42 })
    expect((await s.call(s.tokens.globex, "GET", `/v1/tasks/${id}`)).status).toBe(404)
    const missing = await json(await s.call(s.tokens.acme, "GET", "/v1/tasks/nope"))
    expect([missing.status, missing.body.error.code]).toEqual([404, "not_found"])
    const badTask = await json(await s.call(s.tokens.acme, "POST", "/v1/tasks", { payload: 1 }))
    expect(badTask.status).toBe(400)

    const dead = await json(await s.call(s.tokens.acme, "POST", "/v1/tasks", { capability: "gw.work", payload: { fail: true }, idempotencyKey: "dl-1" }))
    expect(dead.status).toBe(202)
    expect((await s.call(s.tokens.acme, "GET", "/v1/dead-letters")).status).toBe(403)
    const list = await waitUntil(async () => {
      const r = await json(await s.call(s.tokens.operator, "GET", "/v1/dead-letters?tenant=acme"))
      return r.body.value.some((d: { id: string }) => d.id === "dl-1") ? r.body.value : undefined
    }, { timeoutMs: 20_000, message: "dead letter listed" })
    expect(list.find((d: { id: string }) => d.id === "dl-1").reason).toBe("rejected")
    const re = await s.call(s.tokens.operator, "POST", "/v1/dead-letters/dl-1/resubmit?tenant=acme")
    expect(re.status).toBe(202)
    expect(((await re.json()) as any).value).toMatchObject({ id: "dl-1", tenant: "acme" })
  })

  it("gateway - wakes an actor by type and id", async () => {
    const r = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/w1/wake", { reason: "test", keepAliveMinutes: 1 }))
    expect(r.status).toBe(200)
    expect(r.body.value).toMatchObject({ type: "counter", id: "w1" })
    const listed = await json(await s.call(s.tokens.operator, "GET", "/v1/actors?type=counter&tenant=acme"))
    expect(listed.body.value.actors.map((a: { id: string }) => a.id)).toContain("w1")
    const bad = await json(await s.call(s.tokens.acme, "POST", "/v1/agents/counter/w1/wake", { keepAliveMinutes: -1 }))
    expect([bad.status, bad.body.error.code]).toEqual([400, "invalid_message"])
  })

  it("gateway - wakes by type: a new instance, with the reason and keep-alive", async () => {
    const r = await json(await s.call(s.tokens.acme, "POST", "/v1/types/counter/wake", { reason: "gateway test", keepAliveMinutes: 1, new: true }))
    expect(r.status).toBe(200)
    expect(r.body.value).toMatchObject({ type: "counter", created: true })
    expect(r.body.value.id).toMatch(/^counter-/)
    const listed = await json(await s.call(s.tokens.operator, "GET", "/v1/actors?type=counter&tenant=acme"))
    expect(listed.body.value.actors.map((a: { id: string }) => a.id)).toContain(r.body.value.id)
    const cross = await s.call(s.tokens.acme, "POST", "/v1/types/counter/wake?tenant=globex", {})
    expect(cross.status).toBe(403)
  })

  it("gateway - discovery lists the types with their protocols' JSON Schemas and capabilities", async () => {
    const r = await json(await s.call(s.tokens.acme, "GET", "/v1/types"))
    expect(r.status).toBe(200)
    const byType = Object.fromEntries(r.body.value.types.map((t: { type: string }) => [t.type, t]))
    expect(Object.keys(byType).sort()).toEqual(["assistant", "counter", "echo", "gw_worker"])
    expect(byType.counter.tags.Add.message).toMatchObject({ type: "object", required: ["n"], properties: { n: { type: "number" } } })
    expect(byType.counter.tags.Add.reply).toMatchObject({ properties: { total: { type: "number" } } })
    expect(byType.counter.tags.Add.description).toBe("Adds n to the total.")
    expect(byType.gw_worker.capabilities).toEqual(["gw.work"])
    expect(byType.assistant.conversational).toBe(true)
    expect(byType.assistant.tools).toEqual(["counter_add", "counter_get", "transfer"])
    expect(byType.counter.hosting).toBeUndefined()
    const ops = await json(await s.call(s.tokens.operator, "GET", "/v1/types/counter"))
    expect(ops.body.value.hosting.nodes).toEqual([s.node.id])
    expect((await s.call(s.tokens.acme, "GET", "/v1/types/nope")).status).toBe(404)
  })
})

describe("gateway stream and OpenAPI", () => {
  it("gateway - streams a conversational agent's answer over Server-Sent Events, then the reply", async () => {
    const r = await s.call(s.tokens.acme, "POST", "/v1/agents/assistant/a1/Chat/stream", { text: "counter_add id=s1 n=5" })
    expect(r.status).toBe(200)
    expect(r.headers.get("content-type")).toMatch(/^text\/event-stream/)
    const events = (await r.text())
      .split("\n\n")
      .filter((b) => b.trim() !== "")
      .map((b) => ({ event: /^event: (.*)$/m.exec(b)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(b)![1]!) }))
    const reply = events.at(-1)!
    expect(reply.event).toBe("reply")
    expect(reply.data).toMatchObject({ ok: true, value: { turn: "t0", offline: true } })
    expect(reply.data.value.text).toContain('{"total":5}')
    const deltas = events.slice(0, -1)
    expect(deltas.length).toBeGreaterThan(0)
    expect(deltas.every((e) => e.event === "delta")).toBe(true)
    expect(deltas.map((e) => e.data.seq)).toEqual(deltas.map((_, i) => i))
    expect(deltas.at(-1)!.data).toMatchObject({ done: true, text: reply.data.value.text })
    // the tool call reached acme's counter
    expect(((await (await s.call(s.tokens.acme, "POST", "/v1/agents/counter/s1/Get")).json()) as any).value.total).toBe(5)
  })

  it("gateway - serves an OpenAPI 3.1 document that validates, whose schemas accept what the agents accept and describe what they answer", async () => {
    const r = await s.call(s.tokens.acme, "GET", "/v1/openapi.json")
    expect(r.status).toBe(200)
    const doc = (await r.json()) as any
    const ajv = new Ajv2020({ strict: false, allErrors: true })
    const valid = ajv.validate(OPENAPI_31_MINIMAL, doc)
    expect(ajv.errors ?? [], JSON.stringify(ajv.errors)).toEqual([])
    expect(valid).toBe(true)
    // every $ref resolves inside the document
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!)
    expect(refs.length).toBeGreaterThan(10)
    for (const name of refs) expect(doc.components.schemas[name], name).toBeDefined()
    // one operation per type and tag
    for (const t of ["counter", "echo", "assistant"]) expect(Object.keys(doc.paths).some((p) => p.startsWith(`/v1/agents/${t}/{id}/`)), t).toBe(true)
    expect(doc.paths["/v1/agents/counter/{id}/Add"].post.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/counter.Add.message" })
    expect(doc.paths["/v1/agents/assistant/{id}/Chat/stream"]).toBeDefined()
    // the schemas judge bodies as the agents do, and describe the replies they give
    const docAjv = new Ajv2020({ strict: false, allErrors: true })
    docAjv.addSchema(doc, "openapi.json")
    const message = docAjv.compile({ $ref: "openapi.json#/components/schemas/counter.Add.message" })
    expect(message({ n: 5 })).toBe(true)
    expect(message({ n: "five" })).toBe(false)
    const answer = await s.call(s.tokens.acme, "POST", "/v1/agents/counter/o1/Add", { n: 5 })
    const okSchema = docAjv.compile({ $ref: "openapi.json#/paths/~1v1~1agents~1counter~1{id}~1Add/post/responses/200/content/application~1json/schema" })
    const answered = await answer.json()
    expect(okSchema(answered), JSON.stringify([answered, okSchema.errors])).toBe(true)
    const refused = await s.call(s.tokens.acme, "POST", "/v1/agents/counter/o1/Add", { n: "five" })
    expect(docAjv.compile({ $ref: "openapi.json#/components/schemas/ErrorEnvelope" })(await refused.json())).toBe(true)
  })
})
