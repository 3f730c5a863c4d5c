/**
 * The agent repository over HTTP:
 *
 *   GET /v1/types              every type the gateway knows: its tags' message and reply JSON
 *                              Schemas, capabilities, tier, tools, topics, whether it is
 *                              conversational; for operators also the nodes hosting it now and
 *                              its actors there by state (from the nodes' membership records)
 *   GET /v1/types/{type}       one of them
 *   GET /v1/openapi.json       the OpenAPI 3.1 document generated from those protocols
 *   GET /v1/nodes              operators: every node's record (partitions, actors by state, ...)
 *   GET /v1/actors             operators: the actors the nodes hold (`?type=`, `?tenant=`, `?limit=`)
 */
import type { Hono } from "hono"
import { listActors, listNodes } from "../cluster/inspect-client.ts"
import type { NodeMembersInfo } from "../cluster/inspection.ts"
import type { GatewayConnections } from "./connections.ts"
import { GatewayError } from "./errors.ts"
import { intQuery, okJson, requireOperator, type GatewayContext, type GatewayEnv } from "./http.ts"
import { openApiDocument } from "./openapi.ts"
import type { TypeEntry, TypeRepository } from "./type-repository.ts"

type Hosting = { nodes: string[]; actors: { active: number; idle: number; warming: number; sleeping: number } }

function hostingOf(nodes: ReadonlyArray<NodeMembersInfo>, type: string): Hosting {
  const h: Hosting = { nodes: [], actors: { active: 0, idle: 0, warming: 0, sleeping: 0 } }
  for (const n of nodes) {
    const t = n.types[type]
    if (!t) continue
    h.nodes.push(n.node)
    for (const k of ["active", "idle", "warming", "sleeping"] as const) h.actors[k] += t[k] ?? 0
  }
  return h
}

export function discoveryRoutes(app: Hono<GatewayEnv>, repo: TypeRepository, connections: GatewayConnections, version: string): void {
  let openapi: string | undefined
  const withHosting = async (c: GatewayContext, types: ReadonlyArray<TypeEntry>) => {
    if (!c.get("caller").operator) return types
    const nodes = await listNodes(await connections.of(c.get("caller")))
    return types.map((t) => ({ ...t, hosting: hostingOf(nodes, t.type) }))
  }

  app.get("/v1/types", async (c) => okJson(c, { types: await withHosting(c, repo.types) }))

  app.get("/v1/types/:type", async (c) => {
    const t = repo.get(c.req.param("type"))
    if (!t) throw new GatewayError("unknown_type", `the gateway knows no agent type "${c.req.param("type")}" (known: ${repo.types.map((x) => x.type).join(", ") || "none"})`)
    return okJson(c, (await withHosting(c, [t]))[0])
  })

  app.get("/v1/openapi.json", (c) => {
    openapi ??= JSON.stringify(openApiDocument(repo, { version }))
    return c.body(openapi, 200, { "content-type": "application/json; charset=utf-8" })
  })

  app.get("/v1/nodes", async (c) => {
    requireOperator(c, "node inspection")
    return okJson(c, await listNodes(await connections.of(c.get("caller"))))
  })

  app.get("/v1/actors", async (c) => {
    requireOperator(c, "node inspection")
    const type = c.req.query("type") || undefined
    const tenant = c.req.query("tenant") || undefined
    const limit = intQuery(c, "limit", 1000, 1, 10_000)
    return okJson(c, await listActors(await connections.of(c.get("caller")), { type, tenant, limit }))
  })
}
