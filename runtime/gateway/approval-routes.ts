/**
 * The approval queue (runtime/governance) over HTTP, for operators: the nodes serve it on
 * ants._sys.approvals.<tenant>.<op>, which a tenant's principal may not reach.
 *
 *   GET  /v1/approvals                       the tenant's requests, pending first (by severity)
 *   POST /v1/approvals/{id}/approve|reject   a human's decision (`{reason?}`), recorded as made by the token's name
 */
import type { Hono } from "hono"
import type { NatsConnection } from "@nats-io/nats-core"
import { approvalsSubject, type ApprovalOp } from "../../subjects/governance.ts"
import { requestReply } from "../server/reply-inbox.ts"
import { replyResponse, requestFailure } from "./agent-routes.ts"
import type { GatewayConnections } from "./connections.ts"
import { jsonBody, requireOperator, tenantOf, type GatewayEnv } from "./http.ts"

const TIMEOUT_MS = 10_000

/** One request to the approvals service of the tenant; the reply envelope's bytes. */
export async function askApprovals(nc: NatsConnection, tenant: string, op: ApprovalOp, body: unknown): Promise<Uint8Array> {
  const subject = approvalsSubject(tenant, op)
  try {
    return (await requestReply(nc, subject, Buffer.from(JSON.stringify(body)), TIMEOUT_MS)).data
  } catch (e) {
    throw requestFailure(e, subject, TIMEOUT_MS)
  }
}

export function approvalRoutes(app: Hono<GatewayEnv>, connections: GatewayConnections): void {
  app.get("/v1/approvals", async (c) => {
    requireOperator(c, "the approval queue")
    return replyResponse(await askApprovals(await connections.of(c.get("caller")), tenantOf(c), "list", {}))
  })
  for (const decision of ["approve", "reject"] as const) {
    app.post(`/v1/approvals/:id/${decision}`, async (c) => {
      requireOperator(c, "deciding an approval")
      const tenant = tenantOf(c)
      const body = (await jsonBody(c)) as { reason?: unknown }
      const reason = typeof body?.reason === "string" ? body.reason : undefined
      const nc = await connections.of(c.get("caller"))
      return replyResponse(await askApprovals(nc, tenant, "decide", { id: c.req.param("id"), decision, by: c.get("caller").name, ...(reason ? { reason } : {}) }))
    })
  }
}
