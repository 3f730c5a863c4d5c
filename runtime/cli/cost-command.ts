/**
 * `ants cost` (declared in commands.ts as COST): the sleep/wake cost model (about $0.21 per
 * active agent-hour, $0.01 per sleeping agent-hour) applied to the lasting figures of every node
 * (activations, active and sleeping time per type and per tenant, from `ants_lifecycle_cost`),
 * next to what the same agents would cost kept always on, and beside it what each type spent on
 * models (calls, tokens and money, from the `ants_model_cost` bucket), per type and per tenant.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { NodeStats } from "../node/node.ts"
import { Kvm } from "@nats-io/kv"
import { MODEL_COST_BUCKET } from "../../subjects/models.ts"
import { addSpend, kvCostStore, NO_SPEND, type Spend } from "../models/mod.ts"
import type { Parsed } from "./command-spec.ts"
import { COST } from "./commands.ts"
import { runCommand, type CommandIo } from "./run-command.ts"
import { addLifecycleCost, flushLifecycleCosts, readLifecycleCosts, type LifecycleCost } from "../elastic/cost-meter.ts"

export const COST_MODEL = { activePerHour: 0.21, sleepingPerHour: 0.01 } as const

export interface TypeCost {
  readonly type: string
  readonly nodes: number
  readonly activations: number
  readonly restarts: number
  readonly activeHours: number
  readonly sleepingHours: number
  readonly cost: number
  /** The same agent-hours, all active (no sleep/wake). */
  readonly alwaysOnCost: number
  readonly savedPercent: number
}

/** Sums per type over nodes and prices it. */
export function costByType(stats: ReadonlyArray<NodeStats>, model = COST_MODEL): TypeCost[] {
  const acc = new Map<string, LifecycleCost & { nodes: number }>()
  for (const n of stats) {
    for (const [type, t] of Object.entries(n.types)) {
      const a = acc.get(type) ?? { nodes: 0, activations: 0, restarts: 0, activeMs: 0, sleepingMs: 0 }
      acc.set(type, { ...addLifecycleCost(a, t), nodes: a.nodes + 1 })
    }
  }
  return [...acc.entries()].map(([type, a]) => priceCost(type, a, model))
}

/** One type's (or tenant's) figures, priced with the sleep/wake model next to always-on. */
export function priceCost(type: string, a: LifecycleCost & { readonly nodes: number }, model = COST_MODEL): TypeCost {
  const activeHours = a.activeMs / 3_600_000
  const sleepingHours = a.sleepingMs / 3_600_000
  const cost = activeHours * model.activePerHour + sleepingHours * model.sleepingPerHour
  const alwaysOnCost = (activeHours + sleepingHours) * model.activePerHour
  return {
    type,
    nodes: a.nodes,
    activations: a.activations,
    restarts: a.restarts,
    activeHours,
    sleepingHours,
    cost,
    alwaysOnCost,
    savedPercent: alwaysOnCost > 0 ? (1 - cost / alwaysOnCost) * 100 : 0,
  }
}

/**
 * Model spend per agent type and per tenant, read from the `ants_model_cost` bucket, of the
 * tenant and type asked for (all when not given); empty when no model was ever called.
 */
export async function readModelSpend(nc: NatsConnection, filter: { readonly tenant?: string; readonly type?: string } = {}): Promise<{ byType: Record<string, Spend>; byTenant: Record<string, Spend> }> {
  const byType: Record<string, Spend> = {}
  const byTenant: Record<string, Spend> = {}
  let kv
  try {
    kv = await new Kvm(nc).open(MODEL_COST_BUCKET)
    await kv.status()
  } catch {
    return { byType, byTenant }
  }
  const store = await kvCostStore(kv)
  store.stop()
  for (const { address, spend } of store.all()) {
    if ((filter.tenant !== undefined && address.tenant !== filter.tenant) || (filter.type !== undefined && address.type !== filter.type)) continue
    byType[address.type] = addSpend(byType[address.type] ?? NO_SPEND, spend)
    byTenant[address.tenant] = addSpend(byTenant[address.tenant] ?? NO_SPEND, spend)
  }
  return { byType, byTenant }
}

export interface CostCommandIO extends CommandIo {
  readonly nc: NatsConnection
}

/** `ants cost` from code: the same parsing, help and exit codes as the shell. */
export async function costCommand(argv: string[], io: CostCommandIO): Promise<number> {
  return await runCommand(COST, argv, io, (parsed, json) => runCost(parsed, { ...io, json }))
}

/**
 * The figures are the lasting ones (runtime/elastic/cost-meter.ts): every node is asked to store
 * what it metered, then the totals are read from `ants_lifecycle_cost`, summed over every node
 * that ever ran, so they survive restarts and need no node running.
 */
export async function runCost(parsed: Parsed<(typeof COST)["options"]>, io: CostCommandIO): Promise<number> {
  const { values } = parsed
  const answered = await flushLifecycleCosts(io.nc, values.timeout)
  const filter = { ...(values.type ? { type: values.type } : {}), ...(values.tenant ? { tenant: values.tenant } : {}) }
  const lasting = await readLifecycleCosts(io.nc, filter)
  const spend = await readModelSpend(io.nc, filter)
  const models = spend.byType
  const rows = Object.entries(lasting.byType).map(([type, c]) => priceCost(type, c))
  const tenants = Object.entries(lasting.byTenant).map(([tenant, c]) => ({ tenant, ...priceCost(tenant, { ...c, nodes: 0 }) }))
  const modelRows = Object.entries(models)
  const any = rows.length > 0 || modelRows.length > 0
  if (io.json) {
    io.out(JSON.stringify({ model: COST_MODEL, nodes: answered, types: rows, tenants: tenants.map(({ type: _t, nodes: _n, ...t }) => t), models, modelsByTenant: spend.byTenant }))
    return any || answered > 0 ? 0 : 1
  }
  if (!any) {
    io.out(answered > 0 ? "no costs recorded yet" : "no costs recorded and no runtime node answered (start one with `npx ants node --agents <module>`)")
    return answered > 0 ? 0 : 1
  }
  io.out(`cost model: $${COST_MODEL.activePerHour}/h per active agent, $${COST_MODEL.sleepingPerHour}/h sleeping; totals since each node first ran (${answered} node(s) answering now); model spend from providers' usage and the models file's prices`)
  const table = [["TYPE", "NODES", "ACTIVATIONS", "RESTARTS", "ACTIVE h", "SLEEPING h", "COST $", "ALWAYS-ON $", "SAVED", "MODEL CALLS", "TOKENS IN/OUT", "MODEL $"]]
  const spendCols = (m: Spend | undefined) => (m ? [String(m.calls), `${m.inputTokens}/${m.outputTokens}`, m.usd.toFixed(6)] : ["0", "0/0", "0"])
  const modelCols = (type: string) => spendCols(models[type])
  for (const r of rows) {
    table.push([r.type, String(r.nodes), String(r.activations), String(r.restarts), r.activeHours.toFixed(4), r.sleepingHours.toFixed(4), r.cost.toFixed(6), r.alwaysOnCost.toFixed(6), `${r.savedPercent.toFixed(0)}%`, ...modelCols(r.type)])
  }
  // types that spent on models but whose lifecycle was never metered
  for (const [type] of modelRows) if (!rows.some((r) => r.type === type)) table.push([type, "-", "-", "-", "-", "-", "-", "-", "-", ...modelCols(type)])
  printTable(io, table)
  io.out("")
  const byTenant = [["TENANT", "ACTIVATIONS", "RESTARTS", "ACTIVE h", "SLEEPING h", "COST $", "ALWAYS-ON $", "SAVED", "MODEL CALLS", "TOKENS IN/OUT", "MODEL $"]]
  for (const t of tenants) byTenant.push([t.tenant, String(t.activations), String(t.restarts), t.activeHours.toFixed(4), t.sleepingHours.toFixed(4), t.cost.toFixed(6), t.alwaysOnCost.toFixed(6), `${t.savedPercent.toFixed(0)}%`, ...spendCols(spend.byTenant[t.tenant])])
  // tenants that spent on models but whose lifecycle was never metered
  for (const [tenant, m] of Object.entries(spend.byTenant)) if (!tenants.some((t) => t.tenant === tenant)) byTenant.push([tenant, "-", "-", "-", "-", "-", "-", "-", ...spendCols(m)])
  printTable(io, byTenant)
  return 0
}

function printTable(io: CommandIo, table: string[][]): void {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  for (const row of table) io.out(row.map((c, i) => c.padEnd(widths[i]!)).join("  "))
}
