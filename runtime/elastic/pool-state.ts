/**
 * The size of every pool, swarm-wide: KV bucket `ants_pools`, key `<tenant>.<type>`, value a
 * PoolRecord. Every node watches the bucket (so it keeps the members it owns awake); only the
 * pool's router (the owner of the id `_pool`) writes, with the revision it read, so two nodes
 * that both think they route a pool for a moment (a rebalance) do not undo each other's step
 * silently: the loser re-reads and decides again.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { KV, KvWatchEntry } from "@nats-io/kv"
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import { POOLS_BUCKET, parsePoolKey, poolKey } from "../../subjects/elastic.ts"
import { openBucket } from "../cluster/kv-buckets.ts"

export interface PoolRecord {
  readonly tenant: string
  readonly type: string
  readonly size: number
  readonly min: number
  readonly max: number
  /** Epoch ms of the last change, the node that made it and why. */
  readonly at: number
  readonly by: string
  readonly reason: string
}

type Log = (level: "info" | "warn" | "error", message: string) => void
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface PoolState {
  /** Every pool the swarm knows, by `<tenant>.<type>`. */
  readonly pools: ReadonlyMap<string, PoolRecord>
  get(tenant: string, type: string): PoolRecord | undefined
  /** Creates the pool's record at `min` unless it exists; returns the record in force. */
  ensure(tenant: string, type: string, min: number, max: number, by: string): Promise<PoolRecord>
  /**
   * Sets the size when the record is still `from` (its size as the caller read it); false when
   * another writer got there first (the caller reads again and decides again).
   */
  resize(from: PoolRecord, size: number, by: string, reason: string): Promise<boolean>
  /** Called after every change seen on the bucket (own writes included). */
  onChange(f: (r: PoolRecord) => void): void
  close(): Promise<void>
}

export async function openPoolState(nc: NatsConnection, o: { replicas: number; log: Log }): Promise<PoolState> {
  const kv: KV = await openBucket(nc, POOLS_BUCKET, { history: 1, ttl: 0, replicas: o.replicas }, o.log)
  const pools = new Map<string, PoolRecord>()
  const revisions = new Map<string, number>()
  const listeners: Array<(r: PoolRecord) => void> = []
  const apply = (key: string, revision: number, value: Uint8Array | undefined, deleted: boolean) => {
    if (parsePoolKey(key) === undefined) return
    if ((revisions.get(key) ?? 0) >= revision) return
    if (deleted || value === undefined || value.length === 0) {
      pools.delete(key)
      revisions.delete(key)
      return
    }
    try {
      const r = JSON.parse(decoder.decode(value)) as PoolRecord
      pools.set(key, r)
      revisions.set(key, revision)
      for (const f of listeners) f(r)
    } catch (e) {
      o.log("warn", `pool record ${key} is not JSON (${(e as Error).message}); ignored`)
    }
  }
  const watch = await kv.watch({ key: ">" })
  let initial!: () => void
  const ready = new Promise<void>((r) => (initial = r))
  void (async () => {
    for await (const e of watch as AsyncIterable<KvWatchEntry>) {
      apply(e.key, e.revision, e.value, e.operation !== "PUT")
      if (e.delta === 0) initial()
    }
  })().catch((e) => o.log("warn", `watch of ${POOLS_BUCKET} ended: ${(e as Error).message}`))
  // an empty bucket sends nothing: do not wait for an initial entry that never comes
  const status = await kv.status()
  if (status.values === 0) initial()
  await Promise.race([ready, new Promise((r) => setTimeout(r, 5_000))])

  const reread = async (key: string) => {
    const e = await kv.get(key)
    if (e) apply(key, e.revision, e.value, e.operation !== "PUT")
  }
  const write = async (key: string, r: PoolRecord, revision: number | undefined): Promise<boolean> => {
    const data = encoder.encode(JSON.stringify(r))
    try {
      const rev = revision === undefined ? await kv.create(key, data) : await kv.update(key, data, revision)
      apply(key, rev, data, false)
      return true
    } catch (e) {
      if (!isWrongLastSequence(e) && !/exists|wrong last sequence/i.test((e as Error).message)) throw e
      await reread(key)
      return false
    }
  }

  return {
    pools,
    get: (tenant, type) => pools.get(poolKey(tenant, type)),
    async ensure(tenant, type, min, max, by) {
      const key = poolKey(tenant, type)
      for (let i = 0; i < 5; i++) {
        const cur = pools.get(key)
        if (cur && cur.min === min && cur.max === max && cur.size >= min && cur.size <= max) return cur
        const size = Math.min(max, Math.max(min, cur?.size ?? min))
        const next: PoolRecord = { tenant, type, size, min, max, at: Date.now(), by, reason: cur ? "limits changed" : "created" }
        if (await write(key, next, cur ? revisions.get(key) : undefined)) return next
      }
      return pools.get(key) ?? { tenant, type, size: min, min, max, at: Date.now(), by, reason: "created" }
    },
    async resize(from, size, by, reason) {
      const key = poolKey(from.tenant, from.type)
      const cur = pools.get(key)
      if (!cur || cur.size !== from.size) return false
      return await write(key, { ...cur, size, at: Date.now(), by, reason }, revisions.get(key))
    },
    onChange(f) {
      listeners.push(f)
    },
    async close() {
      watch.stop()
    },
  }
}
