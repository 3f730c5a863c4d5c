/**
 * The models layer of one node, backed by JetStream KV: the turn journal (`ants_turns`), the
 * spend of every actor (`ants_model_cost`), the budget counters (`ants_model_budget`) and the
 * routers' shared statistics (`ants_model_stats`), opened on the node's connection. The node calls this once at start
 * and hands each actor `models.client(address, askAgent, publish)` as `ctx.model`.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { retrying } from "../../supervisors/backoff.ts"
import { MODEL_BUDGET_BUCKET, MODEL_COST_BUCKET, MODEL_STATS_BUCKET, TURNS_BUCKET } from "../../subjects/models.ts"
import { kvBudgetStore, kvCostStore, kvStatsSharing, kvTurnJournal } from "./kv-stores.ts"
import { createModels, type Models, type ModelsOptions } from "./models.ts"

export interface OpenModelsOptions extends Omit<ModelsOptions, "journal" | "costs" | "sharing"> {
  readonly nodeId: string
  /** Replicas of the four buckets (the node's own replicas setting). Default 1. */
  readonly replicas?: number
  /** How long journaled turns are kept, ms. Default 7 days. */
  readonly turnsMaxAgeMs?: number
}

export async function openModels(nc: NatsConnection, options: OpenModelsOptions): Promise<Models> {
  const kvm = new Kvm(nc)
  const replicas = options.replicas ?? 1
  // retried while JetStream settles: nodes of a cluster starting together create the same buckets
  // at once, and a server answers one of them "subjects overlap" until the first one exists
  const create = (name: string, config: { history: number; replicas: number; ttl?: number }) => retrying(() => kvm.create(name, config), 20_000)
  const turns = await create(TURNS_BUCKET, { history: 1, replicas, ttl: options.turnsMaxAgeMs ?? 7 * 24 * 3_600_000 })
  const cost = await create(MODEL_COST_BUCKET, { history: 1, replicas })
  const stats = await create(MODEL_STATS_BUCKET, { history: 1, replicas, ttl: 3_600_000 })
  const budget = await create(MODEL_BUDGET_BUCKET, { history: 1, replicas })
  const costs = await kvCostStore(cost)
  const budgets = kvBudgetStore(budget, (scope, a) => {
    let usd = 0
    for (const { address: x, spend } of costs.all()) {
      if (x.tenant === a.tenant && (scope === "tenant" || (x.type === a.type && (scope === "type" || x.id === a.id)))) usd += spend.usd
    }
    return usd
  })
  const models = createModels({ ...options, journal: kvTurnJournal(turns), costs, budgets, sharing: kvStatsSharing(stats, options.nodeId) })
  return {
    ...models,
    close() {
      models.close()
      costs.stop()
    },
  }
}
