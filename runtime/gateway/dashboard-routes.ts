/**
 * The dashboard: plain HTML, CSS and JavaScript shipped in `dashboard/` next to this module
 * (copied into dist/ by the build) and served from disk, plus the two data routes it reads with
 * the caller's bearer token:
 *
 *   GET /dashboard, /dashboard/<file>   the page and its assets (no data in them: no token needed)
 *   GET /v1/dashboard?tenant=           one snapshot (dashboard-data.ts), scoped to the tenant
 *   GET /v1/dashboard/events?tenant=    Server-Sent Events while the page is open: `lifecycle`,
 *                                       `supervisor` and `pheromone` events of the tenant, read
 *                                       through the caller's principal (the page refreshes its
 *                                       snapshot on them)
 */
import { readdirSync, readFileSync } from "node:fs"
import { extname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Hono } from "hono"
import { streamSSE } from "hono/streaming"
import { lifecycleWildcard, supervisorWildcard } from "../../subjects/grammar.ts"
import { createPheromones } from "../stigmergy/pheromones.ts"
import type { GatewayConnections } from "./connections.ts"
import type { dashboardData } from "./dashboard-data.ts"
import { GatewayError } from "./errors.ts"
import { okJson, tenantOf, type GatewayEnv } from "./http.ts"

export const DASHBOARD_DIR = fileURLToPath(new URL("./dashboard/", import.meta.url))

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml" }
/** The page runs only its own files: no inline script, nothing from elsewhere. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

export function dashboardRoutes(app: Hono<GatewayEnv>, connections: GatewayConnections, data: ReturnType<typeof dashboardData>): void {
  // the shipped files, read once: a name not in this list is never read from disk
  const assets = new Map<string, { body: Buffer; type: string }>()
  for (const name of readdirSync(DASHBOARD_DIR)) {
    const type = TYPES[extname(name)]
    if (type) assets.set(name, { body: readFileSync(join(DASHBOARD_DIR, name)), type })
  }
  const serve = (name: string) => {
    const a = assets.get(name)
    if (!a) throw new GatewayError("not_found", `the dashboard has no file "${name}"`)
    return new Response(new Uint8Array(a.body), { headers: { "content-type": a.type, "content-security-policy": CSP, "x-content-type-options": "nosniff", "cache-control": "no-cache" } })
  }
  app.get("/dashboard", () => serve("index.html"))
  app.get("/dashboard/", () => serve("index.html"))
  app.get("/dashboard/:file", (c) => serve(c.req.param("file")))

  app.get("/v1/dashboard", async (c) => okJson(c, await data.snapshot(c.get("caller"), tenantOf(c))))

  app.get("/v1/dashboard/events", async (c) => {
    const caller = c.get("caller")
    const tenant = tenantOf(c)
    const nc = await connections.of(caller)
    return streamSSE(c, async (sse) => {
      let written: Promise<void> = Promise.resolve()
      const send = (event: string, data: unknown) => {
        written = written.then(() => sse.writeSSE({ event, data: JSON.stringify(data) })).catch(() => undefined)
      }
      const subs = [
        nc.subscribe(lifecycleWildcard(tenant), { callback: (_e, m) => send("lifecycle", { subject: m.subject, ...(m.json() as object) }) }),
        nc.subscribe(supervisorWildcard(tenant), { callback: (_e, m) => send("supervisor", { subject: m.subject, ...(m.json() as object) }) }),
      ]
      const pheromones = createPheromones(nc, { tenant })
      const watch = await pheromones
        .watch({
          deposited: (t) => send("pheromone", { op: "deposited", key: t.key, type: t.type, location: t.location, current: t.current }),
          reinforced: (t) => send("pheromone", { op: "reinforced", key: t.key, type: t.type, location: t.location, current: t.current }),
          evaporated: (e) => send("pheromone", { op: e.reason, key: e.key, type: e.type, location: e.location }),
        })
        .catch(() => undefined)
      send("ready", { tenant })
      // held open until the page goes; a comment line now and then keeps proxies from closing it
      await new Promise<void>((resolve) => {
        const beat = setInterval(() => void sse.write(": keep-alive\n\n").catch(() => undefined), 15_000)
        sse.onAbort(() => {
          clearInterval(beat)
          resolve()
        })
      })
      for (const s of subs) s.unsubscribe()
      await watch?.stop()
      await pheromones.close()
    })
  })
}
