/**
 * Ids scoped by tenant: the task and mail streams are shared by every tenant and de-duplicate by
 * `Nats-Msg-Id` across the stream, so the same idempotency key or durable-tell id from two
 * tenants must give two messages, while a repeat from one tenant stays one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/transport-node"
import { jetstream } from "@nats-io/jetstream"
import { headers } from "@nats-io/nats-core"
import { submitTask } from "../../runtime/tasks/submit.ts"
import { ensureTaskStreams } from "../../runtime/tasks/streams.ts"
import { ensureMailStreams, publishDurable } from "../../runtime/cluster/durable-mail.ts"
import { taskLaneSubject } from "../../subjects/tasks.ts"
import { tenantMsgId, unscopedMsgId } from "../../subjects/grammar.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"

let server: NatsServer
let nc: NatsConnection

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
  await ensureTaskStreams(nc)
  await ensureMailStreams(nc)
})

afterAll(async () => {
  await nc?.close()
  await server?.stop()
})

describe("tenant ids", () => {
  it("tenant ids - the same idempotency key from two tenants stores two tasks; a repeat of one tenant stays a duplicate", async () => {
    const acme = await submitTask(nc, { capability: "orders.ship", idempotencyKey: "order-77" }, { tenant: "acme" })
    const globex = await submitTask(nc, { capability: "orders.ship", idempotencyKey: "order-77" }, { tenant: "globex" })
    expect(acme).toMatchObject({ id: "order-77", tenant: "acme", duplicate: false })
    expect(globex).toMatchObject({ id: "order-77", tenant: "globex", duplicate: false })
    expect(globex.seq).not.toBe(acme.seq)
    const again = await submitTask(nc, { capability: "orders.ship", idempotencyKey: "order-77" }, { tenant: "acme" })
    expect(again).toMatchObject({ duplicate: true, seq: acme.seq })
  })

  it("tenant ids - a plain client's scoped Nats-Msg-Id de-duplicates with the runtime's own submission of that key", async () => {
    await submitTask(nc, { capability: "orders.bill", idempotencyKey: "inv-1" }, { tenant: "acme" })
    const h = headers()
    h.set("Nats-Msg-Id", "acme.inv-1")
    const ack = await jetstream(nc).publish(taskLaneSubject("acme", "orders.bill", 5), JSON.stringify({ payload: {} }), { headers: h })
    expect(ack.duplicate).toBe(true)
  })

  it("tenant ids - the same durable-tell id from two tenants gives two messages", async () => {
    const body = new TextEncoder().encode('{"n":1}')
    const a = await publishDurable(nc, { tenant: "acme", type: "counter", id: "c1", tag: "Add" }, body, "m-1")
    const g = await publishDurable(nc, { tenant: "globex", type: "counter", id: "c1", tag: "Add" }, body, "m-1")
    expect(a.duplicate).toBe(false)
    expect(g.duplicate).toBe(false)
    expect((await publishDurable(nc, { tenant: "globex", type: "counter", id: "c1", tag: "Add" }, body, "m-1")).duplicate).toBe(true)
  })

  it("tenant ids - a scoped id reads back as the tenant's own key; another tenant's prefix is not taken off", () => {
    expect(tenantMsgId("acme", "order-77")).toBe("acme.order-77")
    expect(unscopedMsgId("acme", "acme.order-77")).toBe("order-77")
    expect(unscopedMsgId("acme", "order-77")).toBe("order-77")
    expect(unscopedMsgId("acme", "globex.order-77")).toBe("globex.order-77")
  })
})
