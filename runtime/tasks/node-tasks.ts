/**
 * The task engine of a runtime node: started with the node, stopped by its drain.
 *
 * Every node runs the engine's scheduler (so `notBefore` tasks fall due while any node is up)
 * and status responder (so ants._sys.tasks.<tenant>.status.<id> is answered), and serves the
 * capabilities its agent types declare (`defineAgent({ capabilities })`):
 *   - plain queue delivery (default): one worker per capability and tenant, id `<node>/<type>`;
 *   - `marketplace: true`: a broker worker takes the task from its lane and auctions it; the
 *     type bids from this node as agent `<type>@<node>` (one bidder per type and tenant, for all
 *     its marketplace capabilities), with the tenant's pheromones, so `task`, `success` and
 *     `danger` trails are deposited and bids follow the task trail's strength.
 * Handlers get an AgentTaskContext: the worker's context with ask, tell, publish and pheromones
 * in the task's tenant. Those, and the marketplace's trails, go through the tenant's scope
 * (`NodeTasksContext.tenant`: its own connection when the node has an auth folder), so the server
 * holds a handler to its tenant's permissions. A tenant whose scope cannot be opened here (a node
 * pinned to other tenants, no key for it) is not served by this node: its tasks wait for a node
 * that serves it, and the log says why.
 * Drain stops bidders and workers: running tasks get the node's shutdown timeout to finish,
 * whatever is still running then is handed back for redelivery.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { capabilityEntries, type AgentDefinition, type CapabilitySpec } from "../agent/define-agent.ts"
import type { Pheromones } from "../stigmergy/mod.ts"
import { startTaskEngine, type TaskEngine, type TaskEngineOptions } from "./engine.ts"
import { createMarketplace, type BidderHandle, type Marketplace, type MarketplaceOptions } from "./marketplace.ts"
import type { AgentTaskContext, ServeOptions, TaskContext } from "../agent/task-options.ts"

export interface NodeTaskOptions extends Omit<TaskEngineOptions, "replicas"> {
  /** Start no task engine on this node (no workers, scheduler or status responder). Default false. */
  readonly disabled?: boolean
  /** Marketplace timings for marketplace capabilities (bid window, no-bid timeout). */
  readonly marketplace?: Omit<MarketplaceOptions, "tenant" | "pheromones" | "signals">
}

export interface NodeTasks {
  readonly engine: TaskEngine
  /** `<capability>@<tenant>` of every capability served here. */
  readonly served: ReadonlyArray<string>
  stop(opts: { graceMs: number }): Promise<void>
}

/** What one tenant's task handlers act through on this node. */
export interface TenantTasks {
  /** A handler's context: the worker's `base` with the tenant's API; its watches stop when `signal` aborts. */
  context(base: TaskContext, emitter: string, signal: AbortSignal): AgentTaskContext
  /** The tenant's pheromones, signed by `emitter` (the marketplace's trails). */
  pheromones(emitter: string): Pheromones
}

export interface NodeTasksContext {
  readonly nodeId: string
  readonly replicas?: number
  /** Opens the tenant's scope for its task handlers; rejects when this node does not serve the tenant. */
  readonly tenant: (tenant: string) => Promise<TenantTasks>
  readonly log: (level: "info" | "warn" | "error", message: string) => void
  /** Where a marketplace assignment's receipt goes (the node's audit: kind `assignment`). */
  readonly note?: (tenant: string, kind: string, detail: unknown) => void
}

/** Runs `handle` with the tenant's context; the context's watches stop when the handler returns. */
function inTenant(handle: (payload: any, ctx: AgentTaskContext) => unknown, scope: TenantTasks, emitter: string) {
  return async (payload: unknown, base: TaskContext): Promise<unknown> => {
    const ended = new AbortController()
    try {
      return await handle(payload, scope.context(base, emitter, ended.signal))
    } finally {
      ended.abort()
    }
  }
}

export async function startNodeTasks(
  nc: NatsConnection,
  agents: ReadonlyArray<AgentDefinition<any, any>>,
  ctx: NodeTasksContext,
  options: NodeTaskOptions = {},
): Promise<NodeTasks | undefined> {
  if (options.disabled) return undefined
  const engine = await startTaskEngine(nc, { ...options, ...(ctx.replicas === undefined ? {} : { replicas: ctx.replicas }) })
  const bidders: BidderHandle[] = []
  const markets = new Map<string, Marketplace>()
  const served: string[] = []
  const scopes = new Map<string, TenantTasks | undefined>()
  /** The tenant's scope, or undefined (logged once) when this node cannot serve the tenant. */
  const scopeOf = async (tenant: string): Promise<TenantTasks | undefined> => {
    if (scopes.has(tenant)) return scopes.get(tenant)
    let scope: TenantTasks | undefined
    try {
      scope = await ctx.tenant(tenant)
    } catch (e) {
      ctx.log("warn", `node ${ctx.nodeId} does not serve the task capabilities of tenant "${tenant}": ${(e as Error).message}`)
    }
    scopes.set(tenant, scope)
    return scope
  }
  const market = (tenant: string, scope: TenantTasks) => {
    let m = markets.get(tenant)
    if (!m) {
      const note = ctx.note
      m = createMarketplace(nc, { ...options.marketplace, tenant, pheromones: scope.pheromones(`${ctx.nodeId}/tasks`), ...(note ? { onAssign: (t, r) => note(t, "assignment", r) } : {}) })
      markets.set(tenant, m)
    }
    return m
  }
  const settings = (e: CapabilitySpec): ServeOptions => ({
    ...(e.concurrency !== undefined ? { concurrency: e.concurrency } : {}),
    ...(e.maxAttempts !== undefined ? { maxAttempts: e.maxAttempts } : {}),
    ...(e.ackWaitMs !== undefined ? { ackWaitMs: e.ackWaitMs } : {}),
    ...(e.backoff !== undefined ? { backoff: e.backoff } : {}),
  })
  try {
    for (const def of agents) {
      const entries = capabilityEntries(def)
      // marketplace capabilities of this type, per tenant: one bidder each
      const agentId = `${def.type}@${ctx.nodeId}`
      const bidding = new Map<string, Array<CapabilitySpec & { capability: string }>>()
      for (const e of entries) {
        for (const tenant of e.tenants ?? [DEFAULT_TENANT]) {
          const scope = await scopeOf(tenant)
          if (scope === undefined) continue
          if (e.marketplace) {
            await engine.serveCapability(e.capability, market(tenant, scope).handler(), { ...settings(e), tenant, workerId: `${ctx.nodeId}/broker` })
            bidding.set(tenant, [...(bidding.get(tenant) ?? []), e])
          } else {
            await engine.serveCapability(e.capability, inTenant(e.handle, scope, agentId), { ...settings(e), tenant, workerId: `${ctx.nodeId}/${def.type}` })
          }
          served.push(`${e.capability}@${tenant}`)
        }
      }
      for (const [tenant, list] of bidding) {
        const scope = scopes.get(tenant)!
        const byCapability = new Map(list.map((e) => [e.capability, inTenant(e.handle, scope, agentId)]))
        bidders.push(
          await market(tenant, scope).bid({
            agentId,
            capabilities: list.map((e) => e.capability),
            maxConcurrent: Math.max(...list.map((e) => e.concurrency ?? 1)),
            handle: (payload, tctx) => byCapability.get(tctx.capability)!(payload, tctx),
          }),
        )
      }
    }
  } catch (e) {
    await Promise.all(bidders.map((b) => b.stop({ graceMs: 0 })))
    await engine.stop({ graceMs: 0 })
    throw e
  }
  if (served.length) ctx.log("info", `node ${ctx.nodeId} serves task capabilities ${served.join(", ")}`)
  return {
    engine,
    served,
    async stop({ graceMs }) {
      await Promise.all([...bidders.map((b) => b.stop({ graceMs })), engine.stop({ graceMs })])
      await Promise.all([...markets.values()].map((m) => m.stop()))
    },
  }
}
