/**
 * `ants cost` (declared in commands.ts as COST): the sleep/wake cost model (about $0.21 per
 * active agent-hour, $0.01 per sleeping agent-hour) applied to the real figures every node
 * reports (activations, active and sleeping time per type), next to what the same agents would
 * cost kept always on, and beside it what each type spent on models (calls, tokens and money,
 * from the `ants_model_cost` bucket).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { decodeReply } from "../../subjects/envelope.ts"
import { nodesBroadcastSubject } from "../../subjects/grammar.ts"
import type { NodeStats } from "../node/node.ts"
import { Kvm } from "@nats-io/kv"
import { MODEL_COST_BUCKET } from "../../subjects/models.ts"
import { addSpend, kvCostStore, NO_SPEND, type Spend } from "../models/mod.ts"
import type { Parsed } from "./command-spec.ts"
import { COST } from "./commands.ts"
import { runCommand, type CommandIo } from "./run-command.ts"

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

/** Gathers every node's stats (each node answers the broadcast) within `timeoutMs`. */
export async function gatherStats(nc: NatsConnection, timeoutMs = 1000): Promise<NodeStats[]> {
  const out: NodeStats[] = []
  const replies = await nc.requestMany(nodesBroadcastSubject("stats"), new Uint8Array(), { maxWait: timeoutMs })
  for await (const m of replies) {
    const env = decodeReply(m.data)
    if (env.ok) out.push(env.value as NodeStats)
  }
  return out
}

/** Sums per type over nodes and prices it. */
export function costByType(stats: ReadonlyArray<NodeStats>, model = COST_MODEL): TypeCost[] {
  const acc = new Map<string, { nodes: number; activations: number; restarts: number; activeMs: number; sleepingMs: number }>()
  for (const n of stats) {
    for (const [type, t] of Object.entries(n.types)) {
      const a = acc.get(type) ?? { nodes: 0, activations: 0, restarts: 0, activeMs: 0, sleepingMs: 0 }
      a.nodes++
      a.activations += t.activations
      a.restarts += t.restarts
      a.activeMs += t.activeMs
      a.sleepingMs += t.sleepingMs
      acc.set(type, a)
    }
  }
  return [...acc.entries()].map(([type, a]) => {
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
  })
}

/** Model spend per agent type (summed over tenants), read from the `ants_model_cost` bucket; empty when no model was ever called. */
export async function modelSpendByType(nc: NatsConnection): Promise<Record<string, Spend>> {
  let kv
  try {
    kv = await new Kvm(nc).open(MODEL_COST_BUCKET)
    await kv.status()
  } catch {
    return {}
  }
  const store = await kvCostStore(kv)
  store.stop()
  const out: Record<string, Spend> = {}
  for (const { address, spend } of store.all()) out[address.type] = addSpend(out[address.type] ?? NO_SPEND, spend)
  return out
}

export interface CostCommandIO extends CommandIo {
  readonly nc: NatsConnection
}

/** `ants cost` from code: the same parsing, help and exit codes as the shell. */
export async function costCommand(argv: string[], io: CostCommandIO): Promise<number> {
  return await runCommand(COST, argv, io, (parsed, json) => runCost(parsed, { ...io, json }))
}

export async function runCost(parsed: Parsed<(typeof COST)["options"]>, io: CostCommandIO): Promise<number> {
  const { values } = parsed
  const stats = await gatherStats(io.nc, values.timeout)
  const models = await modelSpendByType(io.nc)
  const rows = costByType(stats).filter((r) => !values.type || r.type === values.type)
  const modelRows = Object.entries(models).filter(([t]) => !values.type || t === values.type)
  if (io.json) {
    io.out(JSON.stringify({ model: COST_MODEL, nodes: stats.length, types: rows, models: Object.fromEntries(modelRows) }))
    return stats.length > 0 ? 0 : 1
  }
  if (stats.length === 0) {
    io.out("no runtime node answered (start one with `npx ants node --agents <module>`)")
    return 1
  }
  io.out(`cost model: $${COST_MODEL.activePerHour}/h per active agent, $${COST_MODEL.sleepingPerHour}/h sleeping; ${stats.length} node(s); model spend from providers' usage and the models file's prices`)
  const table = [["TYPE", "ACTIVATIONS", "RESTARTS", "ACTIVE h", "SLEEPING h", "COST $", "ALWAYS-ON $", "SAVED", "MODEL CALLS", "TOKENS IN/OUT", "MODEL $"]]
  const modelCols = (type: string) => {
    const m = models[type]
    return m ? [String(m.calls), `${m.inputTokens}/${m.outputTokens}`, m.usd.toFixed(6)] : ["0", "0/0", "0"]
  }
  for (const r of rows) {
    table.push([r.type, String(r.activations), String(r.restarts), r.activeHours.toFixed(4), r.sleepingHours.toFixed(4), r.cost.toFixed(6), r.alwaysOnCost.toFixed(6), `${r.savedPercent.toFixed(0)}%`, ...modelCols(r.type)])
  }
  // types that spent on models but that no live node hosts any more
  for (const [type] of modelRows) if (!rows.some((r) => r.type === type)) table.push([type, "-", "-", "-", "-", "-", "-", "-", ...modelCols(type)])
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)))
  for (const row of table) io.out(row.map((c, i) => c.padEnd(widths[i])).join("  "))
  return 0
}
