/**
 * A pheromone watch: one ordered push consumer on a key filter (`<tenant>.<location>.>`) that
 * turns KV changes into `deposited`, `reinforced` and `evaporated` events, and doubles as a
 * sweeper for the trails it can see.
 *
 * Sweeping. Servers before 2.11 cannot expire one KV entry at its own TTL, and their max_age
 * removal is silent. So every watch keeps the expiry time of each trail under its filter and,
 * every `sweepIntervalMs` (default 500 ms), deletes the trails whose TTL has run out with a
 * revision-checked delete marker (`Ants-Evaporation: expired`). The revision check means a trail
 * reinforced in the meantime is left alone, and that of many sweepers (one per watch, per node)
 * exactly one marker is written. Every watch covering the trail then sees that one marker and
 * delivers `evaporated` once. Promise: `evaporated` arrives within sweepIntervalMs plus one
 * round trip after a trail's TTL ends, provided some sweeping watch covers the trail. Trails no
 * watch covers are still invisible to readers at once and removed by the server's max_age.
 *
 * Events describe changes after the watch started: trails that already existed are tracked for
 * expiry but not announced as deposits. Handlers run one at a time, in order; a handler that
 * throws is reported to `onError` and the watch goes on.
 */
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import { EVAPORATION_HEADER, TYPE_HEADER, evaporationReason, type PheromoneType } from "../../subjects/pheromones.ts"
import { expiresAt } from "./pheromone-rules.ts"
import { kvKeyOffset } from "../../subjects/jetstream.ts"
import { openKvFeed } from "./kv-feed.ts"
import { writeMarker, type KvItem, type KvStore } from "./kv-store.ts"
import { asType, decodeEntry, toTrail, type PheromoneHandlers } from "./trail.ts"

export const DEFAULT_SWEEP_INTERVAL_MS = 500

export interface PheromoneWatch {
  /** Stops the watch (and its sweeping); resolves after handlers already queued have run. */
  stop(): Promise<void>
}

export interface WatchArgs {
  readonly filter: string
  readonly types?: ReadonlySet<PheromoneType>
  readonly handlers: PheromoneHandlers
  readonly sweep: boolean
  readonly sweepIntervalMs: number
  readonly now: () => number
  readonly onError: (err: unknown) => void
  /**
   * Shared by the watches of one Pheromones instance: true for the first watch that wants to
   * sweep this revision of this key, so overlapping watches send one marker, not one each.
   */
  readonly sweeps?: { claim(key: string, revision: number): boolean; release(key: string, revision: number): void }
}

interface Tracked {
  revision: number
  expiresAt: number
  type: PheromoneType
  /** The revision a delete marker was sent for, so one expiry is swept once. */
  swept?: number
}

export async function startPheromoneWatch(store: KvStore, args: WatchArgs): Promise<PheromoneWatch> {
  const prefixLength = kvKeyOffset(store.bucket)
  const tracked = new Map<string, Tracked>()
  const { handlers, types, now, onError } = args
  let chain: Promise<void> = Promise.resolve()
  const deliver = (fn: () => void | Promise<void>) => {
    chain = chain.then(fn).catch(onError)
  }

  const onItem = (item: KvItem, isUpdate: boolean) => {
    const key = item.key
    const lastDot = key.lastIndexOf(".")
    const firstDot = key.indexOf(".")
    if (firstDot <= 0 || lastDot <= firstDot) return // not a pheromone key
    if (item.operation === "PUT") {
      const entry = decodeEntry(item.value)
      if (!entry) return
      if (types && !types.has(entry.type)) {
        tracked.delete(key)
        return
      }
      tracked.set(key, { revision: item.revision, expiresAt: expiresAt(entry), type: entry.type })
      if (!isUpdate) return
      const trail = toTrail(key, item.revision, entry, now())
      if (trail.current <= 0) return // arrived dead (a writer's clock far behind): the sweeper evaporates it
      if (entry.reinforcements === 0) {
        if (handlers.deposited) deliver(() => handlers.deposited!(trail))
      } else if (handlers.reinforced) deliver(() => handlers.reinforced!(trail))
      return
    }
    const known = tracked.get(key)
    tracked.delete(key)
    const type = asType(item.header(TYPE_HEADER)) ?? known?.type
    if (types && (type === undefined || !types.has(type))) return
    if (!isUpdate || !handlers.evaporated) return
    const reason = evaporationReason(item.header)
    const event = {
      key,
      tenant: key.slice(0, firstDot),
      location: key.slice(firstDot + 1, lastDot),
      id: key.slice(lastDot + 1),
      type,
      reason,
      revision: item.revision,
    } as const
    deliver(() => handlers.evaporated!(event))
  }

  // A message at or below the stream's last sequence when the watch began is a trail that already
  // existed; everything after is news. (Counting the first deliveries instead is fooled when a
  // key is written while the consumer is made: nats-server 2.9 may then skip its older message
  // or deliver the newer one twice.)
  const before = (await store.jsm.streams.info(store.stream)).state.last_seq
  const feed = await openKvFeed(store.nc, store, args.filter, {
    onItem: (item) => onItem(item, item.revision > before),
    onError,
    resume: true,
  })

  const sweepOnce = () => {
    const t = now()
    for (const [key, x] of tracked) {
      if (x.expiresAt > t || x.swept === x.revision) continue
      x.swept = x.revision
      if (args.sweeps && !args.sweeps.claim(key, x.revision)) continue
      const revision = x.revision
      writeMarker(store, key, {
        expectRevision: x.revision,
        headers: { [TYPE_HEADER]: x.type, [EVAPORATION_HEADER]: "expired" },
      }).catch((e) => {
        // A conflict means someone else swept it or it was reinforced: its message is on its way.
        if (isWrongLastSequence(e)) return
        if (x.swept === revision) x.swept = undefined // try again next tick
        args.sweeps?.release(key, revision)
        onError(e)
      })
    }
  }
  const timer = args.sweep ? setInterval(sweepOnce, args.sweepIntervalMs) : undefined
  timer?.unref?.()

  let stopped: Promise<void> | undefined
  return {
    stop() {
      stopped ??= (async () => {
        if (timer) clearInterval(timer)
        await feed.close()
        await chain
      })()
      return stopped
    },
  }
}
