/**
 * Resource pools: a concurrency limit shared by several agent types (all model-calling types of
 * a tenant, say), honoured across nodes. A KV-backed counting semaphore with leased slots:
 * bucket `ants_resource_pools`, key `<tenant>.<pool>.<slot>` for slot 0 … limit-1, value
 * `{"node","holder","at"}`.
 *
 * Rules (the same as actor leases, runtime/cluster/leases.ts):
 * - Acquire takes a free slot with create-if-absent, so of two takers racing for one slot
 *   exactly one wins (on servers that serialize KV compare-and-set; nats-server 2.9.10 does not
 *   on clustered R3 streams, DESIGN §7: there two takers may both win a slot in a race).
 * - A holder refreshes each slot it holds every `leaseTtlMs / 3` (update with the revision it
 *   read). A slot whose lease was not refreshed for two refresh periods (by the server's
 *   timestamps) belongs to a holder that died: the next taker takes it over with an update on
 *   the revision it read. The bucket's max_age (`leaseTtlMs`) collects whatever is left.
 * - Release deletes the slot with the revision held, so it never frees someone else's slot.
 * - A taker that finds every slot held waits (polling, 25 ms doubling to 250 ms) up to `waitMs`,
 *   then fails with ResourcePoolBusyError; an aborted signal fails it at once.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { KV } from "@nats-io/kv"
import { TaggedError } from "../../subjects/errors.ts"
import { RESOURCE_POOLS_BUCKET, resourceSlotKey } from "../../subjects/elastic.ts"
import { openBucket } from "../cluster/kv-buckets.ts"

export const RESOURCE_POOL_DEFAULTS = {
  leaseTtlMs: 30_000,
  waitMs: 60_000,
} as const

/** Every slot of the pool stayed held for `waitMs`. */
export class ResourcePoolBusyError extends TaggedError("ResourcePoolBusyError") {}

export interface ResourceSlot {
  readonly tenant: string
  readonly pool: string
  readonly slot: number
  /** Frees the slot (once; later calls do nothing). */
  release(): Promise<void>
}

export interface AcquireOptions {
  /** Who holds it (shown by `holders`); default the node id. */
  readonly holder?: string
  readonly waitMs?: number
  readonly signal?: AbortSignal
}

export interface ResourcePools {
  acquire(tenant: string, pool: string, limit: number, opts?: AcquireOptions): Promise<ResourceSlot>
  /** Runs `f` holding a slot; the slot is released when `f` settles. */
  use<T>(tenant: string, pool: string, limit: number, f: () => Promise<T> | T, opts?: AcquireOptions): Promise<T>
  /** The slots held now in a pool (a read of KV, for inspection and tests). */
  holders(tenant: string, pool: string, limit: number): Promise<Array<{ slot: number; node: string; holder: string; at: string }>>
  /** Slots this instance holds now. */
  held(): number
  /** Stops refreshing and releases every slot still held. */
  close(): Promise<void>
}

export interface ResourcePoolsOptions {
  readonly nodeId: string
  readonly replicas?: number
  /** Lease of a slot (bucket max_age); refreshed every third of it. */
  readonly leaseTtlMs?: number
  readonly log?: (level: "info" | "warn" | "error", message: string) => void
}

interface Held {
  readonly key: string
  revision: number
  readonly body: { node: string; holder: string }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function openResourcePools(nc: NatsConnection, o: ResourcePoolsOptions): ResourcePools {
  const log = o.log ?? (() => undefined)
  let ttlMs = Math.max(300, o.leaseTtlMs ?? RESOURCE_POOL_DEFAULTS.leaseTtlMs)
  const held = new Map<string, Held>()
  let timer: ReturnType<typeof setInterval> | undefined
  let closed = false
  let opening: Promise<KV> | undefined
  const refreshMs = () => Math.max(100, Math.floor(ttlMs / 3))

  const refresh = async (kv: KV) => {
    for (const h of [...held.values()]) {
      try {
        h.revision = await kv.update(h.key, encoder.encode(JSON.stringify({ ...h.body, at: new Date().toISOString() })), h.revision)
      } catch (e) {
        held.delete(h.key)
        log("warn", `resource slot ${h.key} was lost (not refreshed in time, taken over): ${(e as Error).message}`)
      }
    }
  }

  const bucket = (): Promise<KV> =>
    (opening ??= (async () => {
      const kv = await openBucket(nc, RESOURCE_POOLS_BUCKET, { history: 1, ttl: ttlMs, replicas: o.replicas ?? 1 }, log)
      // a bucket made with another lease keeps it: refresh by the lease in force
      const status = await kv.status()
      if (status.ttl > 0) ttlMs = status.ttl
      timer = setInterval(() => void refresh(kv), refreshMs())
      timer.unref()
      return kv
    })())

  /** Tries every slot once, from a random one (spreads takers); the slot won, or undefined. */
  const tryTake = async (kv: KV, tenant: string, pool: string, limit: number, body: Held["body"]): Promise<Held | undefined> => {
    const start = Math.floor(Math.random() * limit)
    const data = () => encoder.encode(JSON.stringify({ ...body, at: new Date().toISOString() }))
    for (let k = 0; k < limit; k++) {
      const key = resourceSlotKey(tenant, pool, (start + k) % limit)
      if (held.has(key)) continue
      try {
        const e = await kv.get(key)
        if (!e || e.operation !== "PUT") return { key, body, revision: await kv.create(key, data()) }
        // not refreshed for two periods: its holder is gone
        if (Date.now() - e.created.getTime() > 2 * refreshMs()) {
          const revision = await kv.update(key, data(), e.revision)
          log("info", `resource slot ${key} taken over from ${(JSON.parse(decoder.decode(e.value)) as { holder?: string }).holder ?? "?"} (lease not refreshed)`)
          return { key, body, revision }
        }
      } catch {
        // another taker won this slot: try the next
      }
    }
    return undefined
  }

  const acquire = async (tenant: string, pool: string, limit: number, opts: AcquireOptions = {}): Promise<ResourceSlot> => {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`resource pool "${pool}": limit must be a whole number ≥ 1, got ${limit}`)
    if (closed) throw new ResourcePoolBusyError(`resource pools of node ${o.nodeId} are closed`)
    const kv = await bucket()
    const body = { node: o.nodeId, holder: opts.holder ?? o.nodeId }
    const waitMs = opts.waitMs ?? RESOURCE_POOL_DEFAULTS.waitMs
    const deadline = Date.now() + waitMs
    let pause = 25
    for (;;) {
      if (opts.signal?.aborted) throw new ResourcePoolBusyError(`waiting for a slot of "${pool}" (tenant ${tenant}) was aborted`)
      const h = await tryTake(kv, tenant, pool, limit, body)
      if (h) {
        held.set(h.key, h)
        const slot = Number(h.key.slice(h.key.lastIndexOf(".") + 1))
        let released = false
        return {
          tenant,
          pool,
          slot,
          release: async () => {
            if (released) return
            released = true
            const cur = held.get(h.key)
            if (cur !== h) return
            held.delete(h.key)
            await kv.delete(h.key, { previousSeq: h.revision }).catch((e: Error) => log("warn", `release of resource slot ${h.key} failed (${e.message}); its lease frees it`))
          },
        }
      }
      if (Date.now() + pause > deadline) {
        throw new ResourcePoolBusyError(`all ${limit} slot(s) of resource pool "${pool}" (tenant ${tenant}) stayed held for ${waitMs} ms; raise its limit or retry later`)
      }
      await new Promise((r) => setTimeout(r, pause))
      pause = Math.min(250, pause * 2)
    }
  }

  return {
    acquire,
    async use(tenant, pool, limit, f, opts) {
      const slot = await acquire(tenant, pool, limit, opts)
      try {
        return await f()
      } finally {
        await slot.release()
      }
    },
    async holders(tenant, pool, limit) {
      const kv = await bucket()
      const out: Array<{ slot: number; node: string; holder: string; at: string }> = []
      for (let s = 0; s < limit; s++) {
        const e = await kv.get(resourceSlotKey(tenant, pool, s))
        if (e && e.operation === "PUT") out.push({ slot: s, ...(JSON.parse(decoder.decode(e.value)) as { node: string; holder: string; at: string }) })
      }
      return out
    },
    held: () => held.size,
    async close() {
      closed = true
      if (timer) clearInterval(timer)
      if (!opening) return
      const kv = await opening
      await Promise.all([...held.values()].map((h) => kv.delete(h.key, { previousSeq: h.revision }).catch(() => undefined)))
      held.clear()
    },
  }
}
