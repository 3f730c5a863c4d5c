/**
 * The pheromone API: deposit, reinforce, detect, watch and evaporate trails in
 * the `ants_pheromones` KV bucket, for one tenant. Layout, schema and decay live in
 * `subjects/pheromones.ts`; this module adds the I/O and promises:
 *
 *   - Bad input throws a PheromoneError (`_tag`, `code`) before anything is written.
 *   - An instance is bound to one tenant: keys of other tenants are refused (`forbidden`), and
 *     every read is a prefix read under `<tenant>.`. One instance per tenant can be shared by
 *     every actor; `withEmitter(emitter)` makes a cheap view that signs deposits differently.
 *   - Watches belong to the view that started them: `close()` stops that view's watches only,
 *     never another view's (an actor closing its view cannot stop the node's sweeper or another
 *     actor's watches). A view made with a `signal` stops its watches when the signal aborts
 *     (the runtime aborts it when the actor's activation ends).
 *   - `deposit` is one KV put. `reinforce` is a revision-checked update retried on conflict, so
 *     concurrent reinforcements are never lost (`reinforcements` counts every one of them, the
 *     strength is capped at 1). The instance remembers the last revision it wrote or read of a
 *     key, so an uncontended reinforce is a single round trip.
 *   - `detect` streams the last value of every key under `<tenant>.<location>.>` through one
 *     ordered consumer and returns live trails, strongest first. A trail at zero is never
 *     returned.
 *   - `watch` delivers deposited / reinforced / evaporated events and sweeps expired trails
 *     (see `watcher.ts` for the delay it promises).
 */
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import { nuid, type NatsConnection } from "@nats-io/nats-core"
import { backoffDelay, type Backoff } from "../../supervisors/backoff.ts"
import {
  EVAPORATION_HEADER,
  PHEROMONE_BUCKET,
  PHEROMONE_MAX_AGE_MS,
  PheromoneError,
  TYPE_HEADER,
  idValue,
  locationValue,
  parsePheromoneKey,
  pheromoneFilter,
  pheromoneKey,
  type PheromoneEntry,
  type PheromoneType,
  type StrengthLevel,
} from "../../subjects/pheromones.ts"
import { currentStrength, emitterValue, makeEntry, makeReinforcement, pheromoneType, reinforceEntry, strengthValue } from "./pheromone-rules.ts"
import type { DetectQuery, PheromoneDeposit, PheromoneGuarantees, Pheromones, PheromonesOptions, PheromoneWrite, TrailRef, WatchFilter } from "./pheromones-api.ts"
import { pheromoneStore, readLatestAs, readOne, writeMarker, writeValue, type KvStore } from "./kv-store.ts"
import { ownedWatches, stopEvery, viewCore } from "./views.ts"
import { decodeEntry, toTrail, type PheromoneHandlers, type Trail } from "./trail.ts"
import { DEFAULT_SWEEP_INTERVAL_MS, startPheromoneWatch, type PheromoneWatch } from "./watcher.ts"

export type { DetectQuery, PheromoneDeposit, PheromoneGuarantees, Pheromones, PheromonesOptions, PheromoneWrite, TrailRef, WatchFilter } from "./pheromones-api.ts"

export const DEFAULT_EMITTER = "anonymous"
export const DEFAULT_CACHE_SIZE = 10_000
/** Attempts of one revision-checked update before giving up with `conflict`. */
export const MAX_CAS_ATTEMPTS = 200
/** Between CAS attempts once contention shows: a random wait below 2^attempt ms, at most 25 ms. */
const CAS_BACKOFF: Backoff = { initialMs: 1, maxMs: 25, multiplier: 2, jitter: 1 }

interface Known {
  readonly revision: number
  readonly entry: PheromoneEntry | undefined
}

interface Core {
  readonly nc: NatsConnection
  readonly tenant: string
  readonly now: () => number
  readonly sweepIntervalMs: number
  readonly cacheSize: number
  readonly cache: Map<string, Known>
  /** Every open watch of every view, for the owner of a shared instance (`stopAllWatches`). */
  readonly watches: Set<PheromoneWatch>
  readonly replicas?: number
  readonly onWrite?: (write: PheromoneWrite) => void
  /** `<key>@<revision>` of expiries one of this instance's watches has already swept. */
  readonly swept: Set<string>
}

export function createPheromones(nc: NatsConnection, options: PheromonesOptions = {}): Pheromones {
  const core: Core = {
    ...viewCore(nc, options),
    sweepIntervalMs: options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    cacheSize: options.cacheSize ?? DEFAULT_CACHE_SIZE,
    cache: new Map(),
    watches: new Set(),
    onWrite: options.onWrite,
    swept: new Set(),
  }
  return bind(core, emitterValue(options.emitter ?? DEFAULT_EMITTER), options.signal)
}

const cores = new WeakMap<Pheromones, Core>()

/**
 * Stops every watch of every view of the instance `ph` belongs to (the node does this when it
 * drains); a view's own `close()` stops only its own.
 */
export async function stopAllWatches(ph: Pheromones): Promise<void> {
  const core = cores.get(ph)
  if (core) await stopEvery(core.watches)
}

function bind(core: Core, emitter: string, signal?: AbortSignal): Pheromones {
  const { tenant, cache } = core
  const store = () => pheromoneStore(core.nc, { replicas: core.replicas })
  const { close: closeOwn, adopt } = ownedWatches(signal)

  const remember = (key: string, known: Known) => {
    cache.delete(key)
    cache.set(key, known)
    if (cache.size > core.cacheSize) cache.delete(cache.keys().next().value as string)
  }

  const report = (write: PheromoneWrite) => {
    if (!core.onWrite) return
    try {
      core.onWrite(write)
    } catch {
      // an audit hook must not fail the write that already happened
    }
  }

  const keyOf = (target: TrailRef): string => {
    if (typeof target === "string") {
      const parts = parsePheromoneKey(target)
      if (parts.tenant !== tenant) {
        throw new PheromoneError("forbidden", `key "${target}" belongs to tenant "${parts.tenant}", not "${tenant}"`)
      }
      return target
    }
    if (target === null || typeof target !== "object") throw new PheromoneError("invalid_key", "a trail is named by its key or {location, id}")
    return pheromoneKey(tenant, locationValue(target.location), idValue(target.id))
  }

  const fetchKnown = async (s: KvStore, key: string): Promise<Known> => {
    const item = await readOne(s, key)
    if (!item) return { revision: 0, entry: undefined }
    return { revision: item.revision, entry: item.operation === "PUT" ? decodeEntry(item.value) : undefined }
  }

  /**
   * Revision-checked read-modify-write. `step` returns the next entry from the current one
   * (undefined when the key is empty or deleted) or throws. A remembered revision is tried
   * first; on conflict the key is read again, with jittered backoff once contention shows.
   */
  const update = async (key: string, step: (current: PheromoneEntry | undefined, now: number) => PheromoneEntry): Promise<Trail> => {
    const s = await store()
    let known = cache.get(key)
    let fromCache = known !== undefined
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      if (!known) {
        known = await fetchKnown(s, key)
        fromCache = false
      }
      const now = core.now()
      let next: PheromoneEntry
      try {
        next = step(known.entry, now)
      } catch (e) {
        if (fromCache) {
          known = undefined // what we remembered may be stale: decide on what the server has
          continue
        }
        throw e
      }
      try {
        const revision = await writeValue(s, key, JSON.stringify(next), { expectRevision: known.revision, ttlMs: next.ttlMs })
        remember(key, { revision, entry: next })
        return toTrail(key, revision, next, now)
      } catch (e) {
        if (!isWrongLastSequence(e)) throw e
        cache.delete(key)
        known = undefined
        if (attempt >= 2) await sleep(backoffDelay(CAS_BACKOFF, attempt, Math.random()))
      }
    }
    throw new PheromoneError("conflict", `trail "${key}" kept changing: gave up after ${MAX_CAS_ATTEMPTS} attempts`)
  }

  const watchTypes = (types: ReadonlyArray<string> | undefined) =>
    types === undefined ? undefined : new Set<PheromoneType>(types.map(pheromoneType))

  const api: Pheromones = {
    tenant,
    emitter,

    withEmitter(other, options) {
      return bind(core, emitterValue(other), options?.signal)
    },

    async ready() {
      const s = await store()
      const fallback = `readers hide expired trails at once, sweeping watches delete them and report evaporations within ${core.sweepIntervalMs} ms, bucket max_age ${PHEROMONE_MAX_AGE_MS / 60_000} min bounds the rest`
      const summary = s.serverTtl
        ? `pheromones: nats-server ${s.features.version} expires each trail at its own TTL (per-message TTL); readers see decayed strength, sweepers report evaporations`
        : s.features.messageTtl
          ? `pheromones: nats-server ${s.features.version} has per-message TTL but bucket ${PHEROMONE_BUCKET} was created without it (by an older server): staying on the fallback path (recreate the bucket to switch); ${fallback}`
          : `pheromones: nats-server ${s.features.version} has no per-message TTL; ${fallback}`
      return { serverVersion: s.features.version, serverTtl: s.serverTtl, summary }
    },

    async deposit(input) {
      const entry = makeEntry(input, emitter, core.now())
      const onExisting = input.onExisting ?? "replace"
      if (onExisting !== "replace" && onExisting !== "reinforce") {
        throw new PheromoneError("invalid_request", `onExisting must be "replace" or "reinforce", got ${JSON.stringify(onExisting)}`)
      }
      const id = input.id === undefined ? `${entry.type}-${nuid.next()}` : idValue(input.id)
      const key = pheromoneKey(tenant, entry.location, id)
      if (onExisting === "reinforce") {
        const r = { amount: entry.strength, ttlMs: input.ttlMs === undefined ? undefined : entry.ttlMs, data: input.data === undefined ? undefined : entry.data }
        const trail = await update(key, (current, now) => {
          const reinforced = current && current.type === entry.type ? reinforceEntry(current, r, now) : undefined
          return reinforced ?? { ...entry, depositedAt: now }
        })
        report({ op: trail.reinforcements > 0 ? "reinforce" : "deposit", emitter, trail })
        return trail
      }
      const s = await store()
      const revision = await writeValue(s, key, JSON.stringify(entry), { ttlMs: entry.ttlMs })
      remember(key, { revision, entry })
      const trail = toTrail(key, revision, entry, entry.depositedAt)
      report({ op: "deposit", emitter, trail })
      return trail
    },

    async reinforce(target, input) {
      const key = keyOf(target)
      const r = makeReinforcement(input)
      const trail = await update(key, (current, now) => {
        const next = current && reinforceEntry(current, r, now)
        if (!next) throw new PheromoneError("not_found", `no live trail "${key}" to reinforce (it never existed or has evaporated)`)
        return next
      })
      report({ op: "reinforce", emitter, trail })
      return trail
    },

    async get(target) {
      const key = keyOf(target)
      const known = await fetchKnown(await store(), key)
      if (!known.entry) return undefined
      remember(key, known)
      const trail = toTrail(key, known.revision, known.entry, core.now())
      return trail.current > 0 ? trail : undefined
    },

    async detect(query = {}) {
      if (query === null || typeof query !== "object") throw new PheromoneError("invalid_request", "detect takes {types?, location?, minStrength?, limit?}")
      const types = watchTypes(query.types)
      const location = query.location === undefined ? undefined : locationValue(query.location)
      // 0 is allowed here (every live trail); a deposit's strength must be above 0.
      const min = query.minStrength === undefined || query.minStrength === 0 ? 0 : strengthValue(query.minStrength, "minStrength")
      const limit = query.limit
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
        throw new PheromoneError("invalid_request", `limit must be a positive integer, got ${JSON.stringify(limit)}`)
      }
      // each trail decoded as it arrives, at the time the read began
      const now = core.now()
      const out = await readLatestAs(await store(), pheromoneFilter(tenant, location, query.exact === true), (item) => {
        if (item.operation !== "PUT") return undefined
        const entry = decodeEntry(item.value)
        if (!entry || (types && !types.has(entry.type))) return undefined
        const current = currentStrength(entry, now)
        return current <= 0 || current < min ? undefined : toTrail(item.key, item.revision, entry, now)
      })
      out.sort((a, b) => b.current - a.current || b.depositedAt - a.depositedAt)
      const result = limit !== undefined && out.length > limit ? out.slice(0, limit) : out
      // Detection usually precedes reinforcing one of the strongest: remember those revisions.
      for (let i = 0; i < Math.min(result.length, 32); i++) remember(result[i].key, { revision: result[i].revision, entry: result[i] })
      return result
    },

    async watch(handlers, filter = {}) {
      if (handlers === null || typeof handlers !== "object") throw new PheromoneError("invalid_request", "watch takes handlers {deposited?, reinforced?, evaporated?}")
      const types = watchTypes(filter.types)
      const location = filter.location === undefined ? undefined : locationValue(filter.location)
      const w = await startPheromoneWatch(await store(), {
        filter: pheromoneFilter(tenant, location, filter.exact === true),
        types,
        handlers,
        sweep: filter.sweep !== false,
        sweepIntervalMs: core.sweepIntervalMs,
        now: core.now,
        onError: filter.onError ?? ((e) => console.error("[ants] pheromone watch:", e)),
        sweeps: {
          claim(key, revision) {
            const id = `${key}@${revision}`
            if (core.swept.has(id)) return false
            if (core.swept.size >= 10_000) core.swept.clear()
            core.swept.add(id)
            return true
          },
          release(key, revision) {
            core.swept.delete(`${key}@${revision}`)
          },
        },
      })
      return adopt(w, core.watches)
    },

    startSweeper(filter = {}) {
      return api.watch({}, { ...filter, sweep: true })
    },

    async evaporate(target) {
      const key = keyOf(target)
      const s = await store()
      // a trail this API wrote or read is tried at the revision it remembers (a broker clearing
      // the task trail it deposited reads nothing first); a conflict, or nothing remembered, reads it
      let known = cache.get(key)
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        if (known?.entry === undefined || attempt > 0) known = await fetchKnown(s, key)
        if (!known.entry) return false
        try {
          await writeMarker(s, key, {
            expectRevision: known.revision,
            headers: { [TYPE_HEADER]: known.entry.type, [EVAPORATION_HEADER]: "evaporated" },
          })
          cache.delete(key)
          report({ op: "evaporate", emitter, key, type: known.entry.type })
          return true
        } catch (e) {
          if (!isWrongLastSequence(e)) throw e
          cache.delete(key)
        }
      }
      throw new PheromoneError("conflict", `trail "${key}" kept changing: could not evaporate it`)
    },

    close: closeOwn,
  }
  cores.set(api, core)
  return api
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
