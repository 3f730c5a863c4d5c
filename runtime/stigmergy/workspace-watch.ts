/**
 * The status watch of the workspace: delivers artifacts as they reach the watched statuses,
 * claims each transition once across every watcher (revision-checked), releases a claim whose
 * handler failed and reaps claims whose lease ran out (the promises are in workspace.ts).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { PheromoneError, type ArtifactEntry, type ArtifactStatus } from "../../subjects/pheromones.ts"
import { statusValue } from "./pheromone-rules.ts"
import { openKvFeed } from "./kv-feed.ts"
import type { KvItem, KvStore } from "./kv-store.ts"
import {
  DEFAULT_LEASE_MS,
  DEFAULT_RELEASE_DELAY_MS,
  type Artifact,
  type Claims,
  type StatusWatchOptions,
  type WorkspaceWatch,
} from "./workspace-api.ts"

const decoder = new TextDecoder()

/** The artifact in a KV item, with its tenant taken from the key's first token. */
export function decodeArtifact(item: KvItem): Artifact | undefined {
  if (item.operation !== "PUT") return undefined
  let v: unknown
  try {
    v = JSON.parse(decoder.decode(item.value))
  } catch {
    return undefined
  }
  const e = v as Partial<ArtifactEntry> | null
  if (!e || typeof e !== "object" || typeof e.status !== "string" || typeof e.transitions !== "number") return undefined
  const key = item.key
  const dot = key.indexOf(".")
  if (dot <= 0) return undefined
  return { ...(e as ArtifactEntry), id: key.slice(dot + 1), key, tenant: key.slice(0, dot), revision: item.revision }
}

export interface StatusWatchArgs {
  readonly nc: NatsConnection
  readonly store: KvStore
  readonly filter: string
  /** Claim operations in a tenant, undefined for a tenant this watch does not serve. */
  readonly claimsFor: (tenant: string) => Claims | undefined
  readonly now: () => number
  readonly statuses: ReadonlyArray<ArtifactStatus>
  readonly handler: (artifact: Artifact) => void | Promise<void>
  readonly options: StatusWatchOptions
}

interface HeldClaim {
  readonly artifact: Artifact
  /** When the lease runs out (epoch ms). */
  readonly staleAt: number
  /** The reap of this revision was sent. */
  reaping?: boolean
}

export async function startStatusWatch(args: StatusWatchArgs): Promise<WorkspaceWatch> {
  const { statuses, handler, options, now } = args
  if (!Array.isArray(statuses) || statuses.length === 0) throw new PheromoneError("invalid_status", "watchStatus needs at least one status")
  if (typeof handler !== "function") throw new PheromoneError("invalid_request", "watchStatus needs a handler function")
  const wanted = new Set(statuses.map(statusValue))
  const claim = options.claim === undefined ? undefined : statusValue(options.claim)
  if (claim !== undefined && wanted.has(claim)) throw new PheromoneError("invalid_status", `claim status "${claim}" must differ from the watched statuses`)
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
  if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw new PheromoneError("invalid_request", `leaseMs must be a positive number of ms, got ${JSON.stringify(options.leaseMs)}`)
  const reapIntervalMs = options.reapIntervalMs ?? Math.min(1000, Math.max(50, Math.floor(leaseMs / 4)))
  const kinds = options.kinds === undefined ? undefined : new Set(options.kinds)
  const includeExisting = options.includeExisting !== false
  const releaseDelayMs = options.releaseDelayMs ?? DEFAULT_RELEASE_DELAY_MS
  const releaseOnError = options.releaseOnError ?? (() => true)
  const onError = options.onError ?? ((e: unknown) => console.error("[ants] workspace watch:", e))
  const seen = new Map<string, number>() // key -> transitions count last seen
  const held = new Map<string, HeldClaim>() // artifacts in the claim status, from one of `wanted`
  let stopped = false
  let chain: Promise<void> = Promise.resolve()
  const isConflict = (e: unknown) => {
    const code = (e as { code?: string }).code
    return code === "conflict" || code === "not_found"
  }

  const deliver = async (a: Artifact) => {
    if (stopped) return
    if (!claim) return await handler(a)
    const claims = args.claimsFor(a.tenant)
    if (!claims) return
    let claimed: Artifact
    try {
      claimed = await claims.claim(a, claim, leaseMs)
    } catch (e) {
      if (isConflict(e)) return // another watcher won
      throw e
    }
    try {
      await handler(claimed)
    } catch (e) {
      onError(e)
      if (!releaseOnError(e)) return // left to the lease: the reaper moves it back when it runs out
      // Release: back to where it came from (unless the handler already moved it on or the claim
      // was reaped and taken by someone else), after a pause, without holding up this watcher.
      const release = () => void claims.release(claimed, a.status).catch(() => {})
      if (releaseDelayMs <= 0) release()
      else setTimeout(release, releaseDelayMs).unref?.()
    }
  }

  const onItem = (item: KvItem, isNew: boolean) => {
    if (item.operation !== "PUT") {
      seen.delete(item.key)
      held.delete(item.key)
      return
    }
    const a = decodeArtifact(item)
    if (!a) return
    const before = seen.get(item.key)
    seen.set(item.key, a.transitions)
    if (claim !== undefined) {
      if (a.status === claim && a.previousStatus !== undefined && wanted.has(a.previousStatus)) {
        const since = a.claimedAt ?? a.updatedAt
        held.set(item.key, { artifact: a, staleAt: since + (a.leaseMs ?? leaseMs) })
      } else held.delete(item.key)
    }
    if (!wanted.has(a.status) || (kinds && !kinds.has(a.kind))) return
    if (!isNew && !includeExisting) return
    // A data-only write in the same status is not a new arrival.
    if (isNew && before !== undefined && before === a.transitions) return
    chain = chain.then(() => deliver(a)).catch(onError)
  }

  const reapOnce = () => {
    const t = now()
    for (const [key, h] of held) {
      if (h.staleAt > t || h.reaping) continue
      const claims = args.claimsFor(h.artifact.tenant)
      if (!claims) continue
      h.reaping = true
      claims.reap(h.artifact, h.artifact.previousStatus!).catch((e) => {
        // A conflict: another watcher reaped it, or the holder moved on or renewed it.
        if (isConflict(e)) return
        if (held.get(key) === h) h.reaping = false // try again next tick
        onError(e)
      })
    }
  }

  // At or below the stream's last sequence when the watch began: an artifact that already existed.
  const before = (await args.store.jsm.streams.info(args.store.stream)).state.last_seq
  const feed = await openKvFeed(args.nc, args.store, args.filter, {
    onItem: (item) => onItem(item, item.revision > before),
    onError,
    resume: true,
  })
  const timer = claim !== undefined ? setInterval(reapOnce, reapIntervalMs) : undefined
  timer?.unref?.()

  let stopping: Promise<void> | undefined
  return {
    stop() {
      stopping ??= (async () => {
        stopped = true
        if (timer) clearInterval(timer)
        await feed.close()
        await chain
      })()
      return stopping
    },
  }
}
