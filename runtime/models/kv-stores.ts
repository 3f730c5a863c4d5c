/**
 * The models layer's ports filled with JetStream KV: the turn journal (`ants_turns`), the
 * spend of every actor (`ants_model_cost`), the budget counters (`ants_model_budget`) and the
 * routers' shared statistics (`ants_model_stats`). Bucket names and keys come from subjects/models.ts. The caller hands
 * in the KV handles, so this file opens no connection and knows nothing of the engine.
 */
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import type { KV, KvEntry } from "@nats-io/kv"
import {
  modelBudgetKey,
  modelCostKey,
  modelStatsKey,
  parseModelStatsKey,
  turnFilter,
  turnMetaFilter,
  turnMetaKey,
  turnStepKey,
  turnSummaryKey,
} from "../../subjects/models.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"
import { EMPTY_COUNTER, type BudgetCounter, type BudgetScope, type BudgetStore } from "./budget.ts"
import { addSpend, NO_SPEND, type CostStore, type Spend } from "./cost.ts"
import { settledMeta, type SummaryStep, type TurnJournal, type TurnMeta, type TurnStep } from "./journal.ts"
import type { StatsSharing, StatsSnapshot } from "./stats.ts"

const enc = new TextEncoder()


function live(e: KvEntry | null): e is KvEntry {
  return e !== null && e.operation === "PUT" && e.length > 0
}

/** Writes `value` at `key` unless a value is there already: returns that one, or undefined when written. */
async function createOrKeep<T>(kv: KV, key: string, value: T): Promise<T | undefined> {
  try {
    await kv.create(key, enc.encode(JSON.stringify(value)))
    return undefined
  } catch (e) {
    if (!isWrongLastSequence(e)) throw e
    const got = await kv.get(key)
    if (live(got)) return got.json<T>()
    // a purged entry (a reset turn) leaves a delete marker that create does not overwrite
    await kv.put(key, enc.encode(JSON.stringify(value)))
    return undefined
  }
}

export function kvTurnJournal(kv: KV): TurnJournal {
  const steps = async (a: ActorAddress, turn: string): Promise<TurnStep[]> => {
    const out: TurnStep[] = []
    for (let seq = 0; ; seq++) {
      const e = await kv.get(turnStepKey(a, turn, seq))
      if (!live(e)) return out
      out.push(e.json<TurnStep>())
    }
  }
  // a header left `open` may belong to a turn its last step finished (journal.ts: settledMeta)
  const settled = async (m: TurnMeta): Promise<TurnMeta> => (m.status === "open" ? settledMeta(m, await steps(m.address, m.turn)) : m)
  return {
    async meta(a, turn) {
      const e = await kv.get(turnMetaKey(a, turn))
      return live(e) ? settled(e.json<TurnMeta>()) : undefined
    },
    steps,
    open: (meta) => createOrKeep(kv, turnMetaKey(meta.address, meta.turn), meta),
    record: async (a, turn, step) => (await createOrKeep(kv, turnStepKey(a, turn, step.seq), step)) ?? step,
    async summary(a, turn, seq) {
      const e = await kv.get(turnSummaryKey(a, turn, seq))
      return live(e) ? e.json<SummaryStep>() : undefined
    },
    recordSummary: async (a, turn, step) => (await createOrKeep(kv, turnSummaryKey(a, turn, step.seq), step)) ?? step,
    async setMeta(meta) {
      await kv.put(turnMetaKey(meta.address, meta.turn), enc.encode(JSON.stringify(meta)))
    },
    async reset(a, turn) {
      const keys = await kv.keys(turnFilter(a, turn))
      for await (const k of keys) if (!k.endsWith(".meta")) await kv.purge(k)
    },
    async list(tenant, type, id) {
      const out: TurnMeta[] = []
      const keys: string[] = []
      for await (const k of await kv.keys(turnMetaFilter(tenant, type, id))) keys.push(k)
      for (const k of keys) {
        const e = await kv.get(k)
        if (live(e)) out.push(await settled(e.json<TurnMeta>()))
      }
      return out.sort((x, y) => x.startedAt.localeCompare(y.startedAt))
    },
  }
}

/**
 * Spend in KV, one entry per actor, added to with revision-checked updates (no lost
 * increment when two nodes add at once); a watch keeps every node's view of all entries
 * current, so budgets of a type or a tenant hold across nodes. An addition is one write when
 * the view knows the entry's revision (its own last write, or the watch), a read and a write
 * when it does not or another node wrote in between. Resolves once the view has caught up.
 */
export async function kvCostStore(kv: KV): Promise<CostStore & { stop(): void }> {
  const view = new Map<string, { address: ActorAddress; spend: Spend; revision: number }>()
  const apply = (key: string, spend: Spend | undefined, revision: number) => {
    const cur = view.get(key)
    if (cur && cur.revision >= revision) return
    const [tenant, type, id] = key.split(".")
    if (spend) view.set(key, { address: cur?.address ?? { tenant, type, id }, spend, revision })
    else view.delete(key)
  }
  const watch = await kv.watch({ key: ">" })
  let caught: () => void = () => undefined
  const ready = new Promise<void>((r) => (caught = r))
  ;(async () => {
    for await (const e of watch) {
      // this node's own additions come back through the watch with the revision it applied
      // at once: one a turn, not parsed again
      const cur = view.get(e.key)
      if (cur === undefined || cur.revision < e.revision) apply(e.key, live(e) ? e.json<Spend>() : undefined, e.revision)
      if (e.delta === 0) caught()
    }
  })().catch(() => undefined)
  // An empty bucket sends no entry at all: do not wait for one.
  const status = await kv.status()
  if (status.values === 0) caught()
  await ready
  return {
    async add(address, delta) {
      const key = modelCostKey(address)
      let known = view.get(key)
      for (let attempt = 0; ; attempt++) {
        const base = known?.spend ?? NO_SPEND
        const next = addSpend(base, delta)
        try {
          const data = enc.encode(JSON.stringify(next))
          const revision = known ? await kv.update(key, data, known.revision) : await kv.create(key, data)
          apply(key, next, revision)
          return
        } catch (e) {
          if (attempt >= 20 || !isWrongLastSequence(e)) throw e
          const cur = await kv.get(key)
          known = live(cur) ? { address, spend: cur.json<Spend>(), revision: cur.revision } : undefined
          // a deleted entry is written again from nothing, over its delete marker
          if (!known && cur) known = { address, spend: NO_SPEND, revision: cur.revision }
        }
      }
    },
    all: () => [...view.values()],
    stop: () => watch.stop(),
  }
}

/**
 * Budget counters in KV, changed by compare-and-set: a read from the stream (every node sees
 * the same counter, never a lagging view) and an update at the revision read, again on a
 * conflict. A counter not yet written starts from `seed` (the spend already recorded for the
 * scope, e.g. before budgets were shared this way).
 */
export function kvBudgetStore(kv: KV, seed: (scope: BudgetScope, a: ActorAddress) => number = () => 0): BudgetStore {
  return {
    async change(scope, a, f) {
      const key = modelBudgetKey(scope, a)
      for (let attempt = 0; ; attempt++) {
        const cur = await kv.get(key)
        const counter = live(cur) ? cur.json<BudgetCounter>() : { ...EMPTY_COUNTER, usd: seed(scope, a) }
        const { next, out } = f(counter)
        try {
          const data = enc.encode(JSON.stringify(next))
          if (cur) await kv.update(key, data, cur.revision)
          else await kv.create(key, data)
          return out
        } catch (e) {
          if (attempt >= 50 || !isWrongLastSequence(e)) throw e
        }
      }
    },
  }
}

/** Shares router statistics through KV: each node writes its own entry per deployment and watches the others'. */
export function kvStatsSharing(kv: KV, nodeId: string): StatsSharing {
  return {
    publish(deployment, snapshot) {
      kv.put(modelStatsKey(deployment, nodeId), enc.encode(JSON.stringify(snapshot))).catch(() => undefined)
    },
    subscribe(onRemote) {
      let stopped = false
      let stop: (() => void) | undefined
      kv.watch({ key: ">" })
        .then(async (w) => {
          stop = () => w.stop()
          if (stopped) w.stop()
          for await (const e of w) {
            const p = parseModelStatsKey(e.key)
            if (!p || p.node === nodeId || !live(e)) continue
            onRemote(p.deployment, p.node, e.json<StatsSnapshot>())
          }
        })
        .catch(() => undefined)
      return () => {
        stopped = true
        stop?.()
      }
    },
  }
}
