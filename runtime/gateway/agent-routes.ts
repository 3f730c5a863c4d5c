/**
 * Asks, tells, streamed asks and wakes over HTTP, by type, id and tag:
 *
 *   POST /v1/agents/{type}/{id}/{tag}          ask: the body is the message (JSON); the answer is
 *                                              the reply envelope as the node wrote it, under 200,
 *                                              or the error envelope under its status
 *   POST /v1/agents/{type}/{id}/{tag}/tell     tell: 202 once published (`?durable=true`: stored
 *                                              in the durable mail stream first, `Idempotency-Key`
 *                                              header as its id)
 *   POST /v1/agents/{type}/{id}/{tag}/stream   ask with the answer streamed as Server-Sent Events:
 *                                              `delta` events as the agent writes, then `reply`
 *   POST /v1/agents/{type}/{id}/wake           activate the actor (`{reason?, keepAliveMinutes?, sleepAfterMinutes?}`)
 *   POST /v1/types/{type}/wake                 wake by type (`{reason?, keepAliveMinutes?, new?}`): a node
 *                                              hosting the type wakes an instance asleep or stored, else a
 *                                              new one, and answers `{type, id, created, status}`
 *
 * `?tenant=` (operators), `?timeout=<ms>` (default the gateway's `askTimeoutMs`). The reply of
 * an ask is passed through as bytes: the gateway decodes only error envelopes.
 */
import { randomUUID } from "node:crypto"
import { headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/nats-core"
import type { Hono } from "hono"
import { streamSSE } from "hono/streaming"
import { decodeReply } from "../../subjects/envelope.ts"
import { agentSubject, type AgentSubjectParts } from "../../subjects/grammar.ts"
import { modelStreamSubject, STREAM_HEADER } from "../../subjects/models.ts"
import { wakeTypeSubject } from "../../subjects/wake.ts"
import { AskError, checkPayload } from "../client/messaging.ts"
import { publishDurable } from "../client/durable-tell.ts"
import { requestReply } from "../server/reply-inbox.ts"
import type { GatewayConnections } from "./connections.ts"
import { GatewayError } from "./errors.ts"
import { JSON_TYPE, errorResponse, intQuery, jsonBody, okJson, tenantOf, type GatewayContext, type GatewayEnv } from "./http.ts"
import { statusOf } from "./status-codes.ts"

const OK_PREFIX = Buffer.from('{"ok":true')
const EMPTY = Buffer.from("{}")

export interface AgentRouteOptions {
  readonly connections: GatewayConnections
  readonly askTimeoutMs: number
  readonly maxTimeoutMs: number
}

/** Why a request got no reply, as the envelope code a NATS client would see. */
export function requestFailure(e: unknown, subject: string, timeoutMs: number): unknown {
  const err = e as { name?: string; message?: string; cause?: unknown; isNoResponders?: () => boolean }
  if (typeof err?.isNoResponders === "function" && err.isNoResponders()) {
    return new AskError("unavailable", `no runtime node serves ${subject}: is a node running with this type?`)
  }
  if (err?.name === "TimeoutError" || (err?.cause as { name?: string } | undefined)?.name === "TimeoutError") {
    return new AskError("timeout", `no reply to ${subject} within ${timeoutMs} ms`)
  }
  return e
}

/** An ask's reply as an HTTP response: ok envelopes pass through as bytes, errors get their status. */
export function replyResponse(data: Uint8Array): Response {
  const ok = data.length >= OK_PREFIX.length && Buffer.from(data.buffer, data.byteOffset, OK_PREFIX.length).equals(OK_PREFIX)
  if (ok) return new Response(data, { status: 200, headers: { "content-type": JSON_TYPE } })
  const env = decodeReply(data)
  if (env.ok) return new Response(JSON.stringify(env), { status: 200, headers: { "content-type": JSON_TYPE } })
  return new Response(data, { status: statusOf(env.error.code), headers: { "content-type": JSON_TYPE } })
}

export function agentRoutes(app: Hono<GatewayEnv>, o: AgentRouteOptions): void {
  const target = (c: GatewayContext, tag?: string): AgentSubjectParts & { subject: string } => {
    const parts = { tenant: tenantOf(c), type: c.req.param("type")!, id: c.req.param("id")!, tag: tag ?? c.req.param("tag")! }
    return { ...parts, subject: agentSubject(parts) }
  }
  const timeoutOf = (c: GatewayContext) => intQuery(c, "timeout", o.askTimeoutMs, 1, o.maxTimeoutMs)
  const bodyOf = async (c: GatewayContext): Promise<Uint8Array> => {
    const b = new Uint8Array(await c.req.arrayBuffer())
    return b.length === 0 ? EMPTY : b
  }
  const ask = async (nc: NatsConnection, subject: string, body: Uint8Array, timeoutMs: number, h?: ReturnType<typeof natsHeaders>): Promise<Msg> => {
    checkPayload(nc, subject, body)
    try {
      return await requestReply(nc, subject, body, timeoutMs, h)
    } catch (e) {
      throw requestFailure(e, subject, timeoutMs)
    }
  }

  app.post("/v1/agents/:type/:id/wake", async (c) => {
    const t = target(c, "_Wake")
    const body = await jsonBody(c)
    const nc = await o.connections.of(c.get("caller"))
    return replyResponse((await ask(nc, t.subject, Buffer.from(JSON.stringify(body)), timeoutOf(c))).data)
  })

  app.post("/v1/types/:type/wake", async (c) => {
    const subject = wakeTypeSubject(tenantOf(c), c.req.param("type"))
    const body = await jsonBody(c)
    const nc = await o.connections.of(c.get("caller"))
    return replyResponse((await ask(nc, subject, Buffer.from(JSON.stringify(body)), timeoutOf(c))).data)
  })

  app.post("/v1/agents/:type/:id/:tag", async (c) => {
    const t = target(c)
    const timeoutMs = timeoutOf(c)
    const body = await bodyOf(c)
    const nc = await o.connections.of(c.get("caller"))
    return replyResponse((await ask(nc, t.subject, body, timeoutMs)).data)
  })

  app.post("/v1/agents/:type/:id/:tag/tell", async (c) => {
    const t = target(c)
    const message = await jsonBody(c)
    const body = Buffer.from(JSON.stringify(message))
    const nc = await o.connections.of(c.get("caller"))
    checkPayload(nc, t.subject, body)
    const durable = c.req.query("durable")
    if (durable === "true" || durable === "1") {
      const msgId = c.req.header("idempotency-key") ?? randomUUID()
      return okJson(c, await publishDurable(nc, t, body, msgId), 202)
    }
    if (durable !== undefined && durable !== "false" && durable !== "0") throw new GatewayError("invalid_request", `?durable= takes true or false, not "${durable}"`)
    nc.publish(t.subject, body)
    // a round trip, so a publish the server refused has been reported before we say it went
    await nc.flush()
    return okJson(c, null, 202)
  })

  app.post("/v1/agents/:type/:id/:tag/stream", async (c) => {
    const t = target(c)
    const timeoutMs = timeoutOf(c)
    const body = await bodyOf(c)
    const nc = await o.connections.of(c.get("caller"))
    const streamId = randomUUID().replace(/-/g, "")
    const h = natsHeaders()
    h.set(STREAM_HEADER, streamId)
    return streamSSE(c, async (sse) => {
      // deltas are written in arrival order, each after the one before
      let written: Promise<void> = Promise.resolve()
      const deltas = nc.subscribe(modelStreamSubject(t.tenant, streamId), {
        callback: (_e, m) => {
          const data = m.string()
          written = written.then(() => sse.writeSSE({ event: "delta", data }))
        },
      })
      let reply: string
      try {
        await nc.flush()
        const r = await ask(nc, t.subject, body, timeoutMs, h)
        reply = new TextDecoder().decode(r.data)
        // the last deltas travel just behind the reply
        await nc.flush()
      } catch (e) {
        reply = await errorResponse(e).text()
      }
      deltas.unsubscribe()
      await written
      await sse.writeSSE({ event: "reply", data: reply })
    })
  })
}
