// One run of a chaos scenario: clients asking `Add` on counters (one loop per counter, for each
// counter type the scenario names: `pcount` answers before storing, `pcountsafe` after), and
// optionally a client submitting tasks; the fault applied and healed by the scenario; load
// again; then the totals read twice (from two sides) and each type's history checked
// (history-checker.ts). Nothing here prints: the caller reports the outcome.
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CHECKPOINT_LAG_MS } from "../../runtime/actor/checkpoints.ts"
import { checkHistory, type Op, type Verdict } from "./history-checker.ts"
import type { NetCluster, ServerName } from "./net-cluster.ts"

export const hold = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The partition counters (counter-agents.ts) and the checkpoint policy each one runs under. */
export const COUNTER_TYPES = { pcount: "after-change", pcountsafe: "before-reply" } as const
export type CounterType = keyof typeof COUNTER_TYPES

export interface ClientSpec {
  readonly host: string
  readonly name: string
  readonly home: ServerName
}

export interface ScenarioOptions {
  readonly name: string
  readonly types: ReadonlyArray<CounterType>
  readonly ids: string[]
  /** Each asks every counter of every type; the first and the last read the totals. */
  readonly clients: ReadonlyArray<ClientSpec>
  readonly tasks?: ClientSpec & { readonly prefix: string }
  readonly warmMs: number
  /** Applies the fault, keeps it as long as the scenario wants, and heals it. */
  readonly fault: () => Promise<void>
  readonly afterMs: number
  /** Time between the two final reads. */
  readonly rereadMs: number
}

export interface TypeOutcome {
  readonly type: CounterType
  readonly policy: (typeof COUNTER_TYPES)[CounterType]
  readonly verdict: Verdict
  readonly ops: Op[]
  /** Where the history and the node logs were written (a failed check, or `keep`). */
  readonly kept?: string
}

export interface ScenarioOutcome {
  readonly types: TypeOutcome[]
  readonly faultAt: number
  readonly healedAt: number
}

/**
 * After-change answers before storing: what an activation answered in its last lag window (plus
 * the time one message takes on a loaded machine) may be lost when another takes over.
 */
export const inFlightMs = (type: CounterType) => (COUNTER_TYPES[type] === "after-change" ? CHECKPOINT_LAG_MS + 250 : 0)

export async function runScenario(c: NetCluster, o: ScenarioOptions, keep = false): Promise<ScenarioOutcome> {
  const loads = await Promise.all(o.types.flatMap((type) => o.clients.map(async (cl) => ({ type, load: await c.startLoad(cl.host, cl.name, type, o.ids, cl.home) }))))
  const tasks = o.tasks ? await c.startTasks(o.tasks.host, o.tasks.name, o.tasks.prefix, o.tasks.home) : undefined
  await hold(o.warmMs)
  const faultAt = Date.now()
  await o.fault()
  const healedAt = Date.now()
  await hold(o.afterMs)
  const ops = new Map<CounterType, Op[]>(o.types.map((t) => [t, []]))
  for (const { type, load } of loads) ops.get(type)!.push(...(await load.stop()))
  const taskOps: Op[] = tasks ? await tasks.stop() : []
  const [first, second] = [o.clients[0]!, o.clients[o.clients.length - 1]!]
  for (const type of o.types) ops.get(type)!.push(...(await c.read(first.host, type, o.ids, first.home)))
  await hold(o.rereadMs)
  for (const type of o.types) ops.get(type)!.push(...(await c.read(second.host, type, o.ids, second.home)))
  if (tasks && o.tasks) {
    const submitted = taskOps.flatMap((op) => (op.kind === "submit" && op.outcome === "ok" ? [op.task] : []))
    taskOps.push(...(await c.taskRecords(o.tasks.host, submitted, o.tasks.home)))
    taskOps.push(...c.taskRuns().filter((r) => r.task.startsWith(`${o.tasks!.prefix}-`)))
    // the tasks are checked with the first type's history
    ops.get(o.types[0]!)!.push(...taskOps)
  }
  const types = o.types.map((type): TypeOutcome => {
    const all = ops.get(type)!
    const verdict = checkHistory(all, { inFlightMs: inFlightMs(type) })
    let kept: string | undefined
    if (!verdict.ok || keep) {
      kept = join(tmpdir(), `ants-chaos-${o.name}-${type}-${process.pid}-${Date.now()}.json`)
      writeFileSync(kept, JSON.stringify({ cutAt: faultAt, healedAt, ops: all, logs: c.logs() }))
    }
    return { type, policy: COUNTER_TYPES[type], verdict, ops: all, ...(kept ? { kept } : {}) }
  })
  return { types, faultAt, healedAt }
}

/** Acknowledgements by `node` that came back between `from` and `to`. */
export function acksBy(ops: ReadonlyArray<Op>, node: string, from: number, to: number): number {
  return ops.filter((op) => op.kind === "add" && op.outcome === "ok" && op.node === node && op.completeAt >= from && op.completeAt <= to).length
}
