/**
 * Durable tasks over HTTP:
 *
 *   POST /v1/tasks                        submit `{capability, payload?, priority?, idempotencyKey?,
 *                                         sessionId?, notBefore?, deadline?}`: 202 with the
 *                                         stored task's id, once JetStream has it
 *   GET  /v1/tasks/{id}                   its status record (404 `not_found` when unknown)
 *   GET  /v1/dead-letters                 operators: the tenant's dead letters
 *   POST /v1/dead-letters/{id}/resubmit   operators: submit it again (fresh attempts, same id)
 *
 * A tenant token submits and reads status through its own principal (the server lets a tenant
 * publish to its task subjects and ask its status subject); dead letters are the operator's.
 */
import type { Hono } from "hono"
import { deadLetters } from "../tasks/dead-letters.ts"
import { requestTaskStatus } from "../tasks/status.ts"
import { submitTask, type TaskInput } from "../tasks/submit.ts"
import type { GatewayConnections } from "./connections.ts"
import { GatewayError } from "./errors.ts"
import type { Caller } from "./principals.ts"
import { intQuery, jsonBody, okJson, requireOperator, tenantOf, type GatewayEnv } from "./http.ts"

export function taskRoutes(app: Hono<GatewayEnv>, connections: GatewayConnections, onSubmitted: (caller: Caller, tenant: string, id: string) => void): void {
  app.post("/v1/tasks", async (c) => {
    const tenant = tenantOf(c)
    const body = await jsonBody(c)
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new GatewayError("invalid_request", "a task is a JSON object: {capability, payload?, priority?, ...}")
    const nc = await connections.of(c.get("caller"))
    const r = await submitTask(nc, body as TaskInput, { tenant })
    onSubmitted(c.get("caller"), tenant, r.id)
    return okJson(c, r, 202)
  })

  app.get("/v1/tasks/:id", async (c) => {
    const tenant = tenantOf(c)
    const id = c.req.param("id")
    const nc = await connections.of(c.get("caller"))
    const rec = await requestTaskStatus(nc, id, { tenant })
    if (rec === null) throw new GatewayError("not_found", `no task "${id}" in tenant "${tenant}" (unknown id, or its record expired)`)
    return okJson(c, rec)
  })

  app.get("/v1/dead-letters", async (c) => {
    requireOperator(c, "the dead-letter queue")
    const tenant = tenantOf(c)
    const limit = intQuery(c, "limit", 100, 1, 1000)
    const nc = await connections.of(c.get("caller"))
    return okJson(c, await deadLetters(nc, { tenant }).list({ limit }))
  })

  app.post("/v1/dead-letters/:id/resubmit", async (c) => {
    requireOperator(c, "resubmitting a dead letter")
    const tenant = tenantOf(c)
    const nc = await connections.of(c.get("caller"))
    return okJson(c, await deadLetters(nc, { tenant }).resubmit(c.req.param("id")), 202)
  })
}
