/**
 * gateway: an HTTP ask through the ANTS gateway (bearer token, routing, error mapping, the
 * reply envelope passed through) against a minimal raw HTTP-to-NATS proxy on the same framework
 * (Hono on @hono/node-server: one route that takes the body, does a plain nats.js request and
 * answers the reply's bytes). Both reach the same active `echo` actors of one node, both listen
 * on loopback in this process, and one HTTP client (Node's fetch, keep-alive) drives both in a
 * closed loop at each concurrency; rounds alternate. What is left between them is the gateway.
 */
import { randomBytes } from "node:crypto"
import type { AddressInfo } from "node:net"
import { serve } from "@hono/node-server"
import { Hono } from "hono"
import { echo } from "../../actors/examples/index.ts"
import { createGateway } from "../../runtime/gateway/gateway.ts"
import { startNode } from "../../runtime/node/node.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { atEachLevel, failedNote, recordVsRaw } from "../compare.ts"
import { closedLoop, payloadText } from "../load.ts"
import { percentile } from "../stats.ts"
import { benchLogger, duration, rawConnection, rounds } from "../support.ts"
import type { Scenario } from "../types.ts"

const BASELINE = "a minimal HTTP-to-NATS proxy on Hono (one route: nats.js request of the body, the reply's bytes answered), same node, actors, client and concurrency"

export const gatewayScenario: Scenario = {
  name: "gateway",
  summary: "HTTP ask through the gateway vs a minimal raw HTTP-to-NATS proxy on the same framework: throughput, p50, p99",
  async run(ctx) {
    const body = JSON.stringify({ text: payloadText(ctx.options.payload) })
    const node = await startNode({ agents: [echo], nats: ctx.natsUrl, nodeId: "bench-gateway", logger: benchLogger(ctx) })
    const proxyNc = await rawConnection(ctx.natsUrl, "bench-raw-proxy")
    const token = randomBytes(24).toString("hex")
    const gateway = await createGateway({ nats: ctx.natsUrl, principals: [{ token, operator: true }] })
    const raw = new Hono()
    raw.post("/ask/:subject", async (c) => {
      const r = await proxyNc.request(c.req.param("subject"), new Uint8Array(await c.req.arrayBuffer()), { timeout: 5000 })
      return new Response(r.data, { headers: { "content-type": "application/json" } })
    })
    const rawServer = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: raw.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s))
    })
    const rawUrl = `http://127.0.0.1:${(rawServer.address() as AddressInfo).port}`
    const listener = await gateway.serve({ port: 0 })
    try {
      const levels = ctx.options.concurrency
      const ask = async (url: string, headers: Record<string, string>) => {
        const r = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } })
        const text = await r.text()
        if (r.status !== 200) throw new Error(`${r.status}: ${text}`)
        return text
      }
      const rawLoop = (c: number, ms: number) => closedLoop(c, { durationMs: ms }, (w) => ask(`${rawUrl}/ask/${agentSubject({ tenant: "default", type: "echo", id: `g${w}`, tag: "Say" })}`, {}))
      const gatewayLoop = (c: number, ms: number) => closedLoop(c, { durationMs: ms }, (w) => ask(`${listener.url}/v1/agents/echo/g${w}/Say`, { authorization: `Bearer ${token}` }))
      const R = rounds(ctx)
      const D = duration(ctx)
      await atEachLevel(ctx, { levels, rounds: R, durationMs: D, raw: rawLoop, ants: gatewayLoop }, (c, res) => {
        const params = { concurrency: c, rounds: R, durationMs: D, payload: ctx.options.payload }
        const note = failedNote(res, "gateway asks")
        recordVsRaw(ctx, res, (x) => x.throughput, { metric: `throughput c=${c}`, baselineOf: BASELINE, unit: "req/s", better: "higher", target: "ratio >= 0.8", headline: true, params, note })
        const latency = { baselineOf: BASELINE, unit: "ms", better: "lower", params } as const
        recordVsRaw(ctx, res, (x) => percentile(x.latencies, 0.5), { ...latency, metric: `p50 c=${c}`, target: "ratio <= 1.3", headline: true })
        recordVsRaw(ctx, res, (x) => percentile(x.latencies, 0.99), { ...latency, metric: `p99 c=${c}` })
      })
    } finally {
      await gateway.close()
      await new Promise<void>((r) => rawServer.close(() => r()))
      await proxyNc.close()
      await node.drain()
    }
  },
}
