/**
 * The task engine of a runtime node: started with the node, stopped by its drain.
 *
 * Every node runs the engine's scheduler (so `notBefore` tasks fall due while any node is up)
 * and status responder (so ants._sys.tasks.<tenant>.status.<id> is answered), and serves the
 * capabilities its agent types declare (`defineAgent({ capabilities })`):
 *   - plain queue delivery (default): one worker per capability and tenant, id `<node>/<type>`;
 *   - `marketplace: true`: a broker worker takes the task from its lane and auctions it; the
 *     type bids from this node as agent `<type>@<node>` (one bidder per type and tenant, for all
 *     its marketplace capabilities), with the node's pheromones, so `task`, `success` and
 *     `danger` trails are deposited and bids follow the task trail's strength.
 * Drain stops bidders and workers: running tasks get the node's shutdown timeout to finish,
 * whatever is still running then is handed back for redelivery.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { capabilityEntries, type AgentDefinition, type CapabilitySpec } from "../agent/define-agent.ts"
import type { Pheromones } from "../stigmergy/mod.ts"
import { startTaskEngine, type TaskEngine, type TaskEngineOptions } from "./engine.ts"
import { createMarketplace, type BidderHandle, type Marketplace, type MarketplaceOptions } from "./marketplace.ts"
import type { ServeOptions } from "../agent/task-options.ts"

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

export interface NodeTasksContext {
  readonly nodeId: string
  readonly replicas?: number
  /** The node's pheromone API of a tenant, signed by `emitter`. */
  readonly pheromones: (tenant: string, emitter: string) => Pheromones
  readonly log: (level: "info" | "warn" | "error", message: string) => void
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
  const market = (tenant: string) => {
    let m = markets.get(tenant)
    if (!m) {
      m = createMarketplace(nc, { ...options.marketplace, tenant, pheromones: ctx.pheromones(tenant, `${ctx.nodeId}/tasks`) })
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
      const bidding = new Map<string, Array<CapabilitySpec & { capability: string }>>()
      for (const e of entries) {
        for (const tenant of e.tenants ?? [DEFAULT_TENANT]) {
          if (e.marketplace) {
            await engine.serveCapability(e.capability, market(tenant).handler(), { ...settings(e), tenant, workerId: `${ctx.nodeId}/broker` })
            bidding.set(tenant, [...(bidding.get(tenant) ?? []), e])
          } else {
            await engine.serveCapability(e.capability, e.handle, { ...settings(e), tenant, workerId: `${ctx.nodeId}/${def.type}` })
          }
          served.push(`${e.capability}@${tenant}`)
        }
      }
      for (const [tenant, list] of bidding) {
        const byCapability = new Map(list.map((e) => [e.capability, e.handle]))
        bidders.push(
          await market(tenant).bid({
            agentId: `${def.type}@${ctx.nodeId}`,
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
