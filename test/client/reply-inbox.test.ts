/**
 * The asks' request/reply (runtime/server/reply-inbox.ts) against a real authenticated server:
 * replies come back to the tenant's own inbox prefix, many requests in flight each get their
 * own reply, and every way a request can fail fails as nats.js's `request` would (no
 * responders, timeout, a publish the server refuses, a closed connection), mapped by the
 * messaging client to AskError codes. A table grown by a burst goes back to its first size, and an
 * ask that finds no responders sends its unserved hint within the tenant's permissions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { errors } from "@nats-io/nats-core"
import { replyTableSize, requestReply } from "../../runtime/server/reply-inbox.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { askSubject } from "../../runtime/client/messaging.ts"
import { topicSubject } from "../../subjects/grammar.ts"
import { confWithTenants, type AuthConf } from "../helpers/nats-conf.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

let auth: AuthConf
let server: NatsServer
let responder: NatsConnection
let acme: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()

beforeAll(async () => {
  auth = confWithTenants(["acme", "globex"])
  server = await natsFixture({ config: auth.config })
  responder = await connect({ servers: server.url, ...auth.as("node") })
  responder.subscribe(topicSubject("acme", "echo"), { callback: (_e, m) => void m.respond(enc.encode(`${dec.decode(m.data)}!`)) })
  await responder.flush()
  acme = await connect({ servers: server.url, ...auth.as("acme") })
})

afterAll(async () => {
  await acme?.close()
  await responder?.close()
  await server?.stop()
})

describe("reply inbox", () => {
  it("reply inbox - each of many requests in flight gets its own reply, on the tenant's inbox prefix", async () => {
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => requestReply(acme, topicSubject("acme", "echo"), enc.encode(`m${i}`), 5_000)))
    expect(replies.map((r) => dec.decode(r.data))).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}!`))
    expect(replies[0].subject.startsWith("_INBOX_acme.")).toBe(true)
  })

  it("reply inbox - a request still waiting while 900 more come and go keeps its place, and each gets its own reply", async () => {
    // the waiting requests sit in a table indexed by the low bits of their number (64 slots at
    // first): one still waiting when its slot comes round again is moved aside, not overwritten
    const silent = await connect({ servers: server.url, ...auth.as("node") })
    let late: ((body: string) => void) | undefined
    try {
      silent.subscribe(topicSubject("acme", "late"), {
        callback: (_e, m) => {
          late = (b) => void m.respond(enc.encode(b))
        },
      })
      await silent.flush()
      const waiting = requestReply(acme, topicSubject("acme", "late"), enc.encode("x"), 10_000)
      for (let round = 0; round < 6; round++) {
        const replies = await Promise.all(Array.from({ length: 150 }, (_, i) => requestReply(acme, topicSubject("acme", "echo"), enc.encode(`r${round}.${i}`), 5_000)))
        expect(replies.map((r) => dec.decode(r.data))).toEqual(Array.from({ length: 150 }, (_, i) => `r${round}.${i}!`))
      }
      await silent.flush()
      expect(late).toBeDefined()
      late!("at last")
      expect(dec.decode((await waiting).data)).toBe("at last")
    } finally {
      await silent.close()
    }
  })

  it("reply inbox - no responders, a timeout and a refused publish fail like nats.js requests, and map to AskError codes", async () => {
    const none = await requestReply(acme, topicSubject("acme", "nobody"), enc.encode("x"), 5_000).catch((e) => e)
    expect(none).toBeInstanceOf(errors.RequestError)
    expect((none as InstanceType<typeof errors.RequestError>).isNoResponders()).toBe(true)
    await expect(askSubject(acme, topicSubject("acme", "nobody"), enc.encode("x"), 5_000)).rejects.toMatchObject({ code: "unavailable" })

    // a responder that never answers
    const silent = await connect({ servers: server.url, ...auth.as("node") })
    try {
      silent.subscribe(topicSubject("acme", "silent"), { callback: () => undefined })
      await silent.flush()
      expect(await requestReply(acme, topicSubject("acme", "silent"), enc.encode("x"), 200).catch((e) => e)).toBeInstanceOf(errors.TimeoutError)
      await expect(askSubject(acme, topicSubject("acme", "silent"), enc.encode("x"), 200)).rejects.toMatchObject({ code: "timeout" })
    } finally {
      await silent.close()
    }

    // another tenant's subject: the server refuses the publish, the request fails before its timeout
    const refused = await requestReply(acme, topicSubject("globex", "echo"), enc.encode("x"), 60_000).catch((e) => e)
    expect(refused).toBeInstanceOf(errors.PermissionViolationError)
    // the connection's inbox still works afterwards
    expect(dec.decode((await requestReply(acme, topicSubject("acme", "echo"), enc.encode("again"), 5_000)).data)).toBe("again!")
  })

  it("reply inbox - the table a burst grew goes back to its first size once no request waits", async () => {
    const replies = await Promise.all(Array.from({ length: 2_000 }, (_, i) => requestReply(acme, topicSubject("acme", "echo"), enc.encode(`b${i}`), 10_000)))
    expect(replies.length).toBe(2_000)
    // grown while the burst was in flight: at least twice the requests waiting at once
    const grown = replyTableSize(acme)
    expect(grown).toBeGreaterThan(64)
    // the deadline sweep finds none waiting and puts the first size back
    await waitUntil(() => replyTableSize(acme) === 64, { timeoutMs: 5_000, message: "the table shrinks back to 64 slots" })
    expect(dec.decode((await requestReply(acme, topicSubject("acme", "echo"), enc.encode("after"), 5_000)).data)).toBe("after!")
  })

  it("reply inbox - a tenant's ask that finds no responders sends its unserved hint within the tenant's permissions", async () => {
    const hints: string[] = []
    const sub = responder.subscribe("ants.*.unserved.*", { callback: (_e, m) => void hints.push(m.subject) })
    const refusals: string[] = []
    void (async () => {
      for await (const st of acme.status()) if (st.type === "error") refusals.push(String(st.error))
    })()
    try {
      await responder.flush()
      await expect(askSubject(acme, "ants.acme.agent.echo.nobody.Say", enc.encode("{}"), 5_000)).rejects.toMatchObject({ code: "unavailable" })
      await acme.flush()
      await waitUntil(() => hints.length === 1, { timeoutMs: 5_000, message: "the hint" })
      expect(hints).toEqual([`ants.acme.unserved.${partitionOf("echo", "nobody")}`])
      expect(refusals).toEqual([])
    } finally {
      sub.unsubscribe()
    }
  })

  it("reply inbox - requests waiting when the connection closes fail with it, and later ones are refused", async () => {
    const nc = await connect({ servers: server.url, ...auth.as("acme") })
    const silent = await connect({ servers: server.url, ...auth.as("node") })
    try {
      silent.subscribe(topicSubject("acme", "hold"), { callback: () => undefined })
      await silent.flush()
      const waiting = requestReply(nc, topicSubject("acme", "hold"), enc.encode("x"), 60_000).catch((e) => e)
      await nc.flush()
      await nc.close()
      expect(await waiting).toBeInstanceOf(Error)
      expect(await requestReply(nc, topicSubject("acme", "hold"), enc.encode("x"), 60_000).catch((e) => e)).toBeInstanceOf(errors.ClosedConnectionError)
    } finally {
      await silent.close()
    }
  })
})
