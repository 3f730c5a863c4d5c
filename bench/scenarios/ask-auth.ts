/**
 * ask-auth: the ask scenario on an authenticated server (the shipped nats.conf with principals
 * from `ants auth init`), ANTS with per-tenant scopes on (the node has the auth folder; callers
 * are the tenant's principal with its own inbox prefix), against raw nats.js request/reply under
 * the same authentication and the same principals (responder: the node principal, caller: the
 * tenant principal). It starts its own server, since it needs that configuration.
 *
 * ANTS asks do not go through `nc.request` (runtime/server/reply-inbox.ts: nats.js builds up to
 * three stack-capturing Error objects per request, which cost more than the node's actor path).
 * So that the figure does not hide what the actor path itself costs, a reference figure at the
 * highest concurrency compares ANTS with a raw request over that same reply inbox.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect } from "@nats-io/transport-node"
import { echo } from "../../actors/examples/index.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { requestReply } from "../../runtime/server/reply-inbox.ts"
import { startNode } from "../../runtime/node/node.ts"
import { PROJECT_NATS_BASE_CONF, PROJECT_NATS_CONF, startNatsServer } from "../../runtime/server/nats-server.ts"
import { authInit, tenantSeedFile } from "../../runtime/security/auth-init.ts"
import { connectionOptions } from "../../runtime/security/connection-options.ts"
import { topicSubject } from "../../subjects/grammar.ts"
import { tenantInboxPrefix } from "../../subjects/permissions.ts"
import { alternate, closedLoop, payloadText, type LoopResult } from "../load.ts"
import { median } from "../stats.ts"
import { benchLogger, duration, encoder, rounds } from "../support.ts"
import { atEachLevel, failedNote, halfRounds, recordVsRaw } from "../compare.ts"
import type { Scenario } from "../types.ts"

const TENANT = "bench"
const BASELINE = "raw nats.js request/reply on the same authenticated server: responder as the node principal, caller as the tenant principal (own inbox prefix), same payload and concurrency"
const BASELINE_LEAN = "raw request/reply over ANTS's reply inbox (no nats.js request objects), otherwise as the main baseline"

export const askAuthScenario: Scenario = {
  name: "ask-auth",
  summary: "ask with authentication and per-tenant scopes vs raw request/reply with the same authentication",
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), "ants-bench-auth-"))
    cpSync(PROJECT_NATS_CONF, join(dir, "nats.conf"))
    cpSync(PROJECT_NATS_BASE_CONF, join(dir, "nats-base.conf"))
    const authDir = join(dir, "auth")
    authInit({ out: authDir, tenants: [TENANT] })
    const server = await startNatsServer({ config: join(dir, "nats.conf") })
    const as = async (nkey: string, name: string, inboxPrefix?: string) =>
      await connect({ ...connectionOptions(server.url, { nkey }).options, name, ...(inboxPrefix ? { inboxPrefix } : {}) })
    const responderNc = await as(join(authDir, "node.nk"), "bench-raw-responder")
    const callerNc = await as(tenantSeedFile(authDir, TENANT), "bench-caller", tenantInboxPrefix(TENANT))
    const node = await startNode({ agents: [echo], nats: server.url, credentials: { nkey: join(authDir, "node.nk") }, authDir, nodeId: "bench-ask-auth", logger: benchLogger(ctx) })
    try {
      const text = payloadText(ctx.options.payload)
      const body = encoder.encode(JSON.stringify({ text }))
      const rawSubject = topicSubject(TENANT, "bench.echo")
      responderNc.subscribe(rawSubject, { callback: (_e, m) => void m.respond(m.data) })
      await responderNc.flush()
      const client = createMessaging(callerNc, { tenant: TENANT })
      // a smoke run (--quick) measures the highest concurrency only: this scenario starts a server of its own
      const maxC = Math.max(...ctx.options.concurrency)
      const levels = ctx.quick ? [maxC] : ctx.options.concurrency
      const refs = Array.from({ length: maxC }, (_, i) => client.ref(echo, `w${i}`))
      const raw = (c: number, ms: number) => closedLoop(c, { durationMs: ms }, () => callerNc.request(rawSubject, body, { timeout: 5000 }))
      const ants = (c: number, ms: number) => closedLoop(c, { durationMs: ms }, (w) => refs[w].ask("Say", { text }))
      const R = rounds(ctx)
      const D = duration(ctx)
      await atEachLevel(ctx, { levels, rounds: R, durationMs: D, raw, ants }, (c, res) => {
        recordVsRaw(ctx, res, (x) => x.throughput, {
          metric: `throughput c=${c} (authenticated, tenant scopes)`,
          baselineOf: BASELINE,
          unit: "msg/s",
          better: "higher",
          target: "ratio >= 0.8",
          params: { concurrency: c, rounds: R, durationMs: D, payload: ctx.options.payload },
          note: failedNote(res),
        })
      })
      const lean = await alternate<LoopResult>(
        halfRounds(R),
        () => closedLoop(maxC, { durationMs: D }, () => requestReply(callerNc, rawSubject, body, 5000)),
        () => ants(maxC, D),
      )
      recordVsRaw(ctx, lean, (x) => x.throughput, {
        metric: `throughput c=${maxC} vs raw request on the same reply inbox`,
        baselineOf: BASELINE_LEAN,
        unit: "msg/s",
        better: "higher",
        params: { concurrency: maxC, rounds: lean.ants.length, durationMs: D, payload: ctx.options.payload },
        note: "both sides request alike; the gap is ANTS's own work: validation, routing, tenant checks, actor dispatch",
      })
    } finally {
      await node.drain()
      await callerNc.close()
      await responderNc.close()
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
