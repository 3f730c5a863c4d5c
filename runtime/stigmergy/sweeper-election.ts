/**
 * One pheromone sweeper per tenant across the swarm. Without it every node sweeps every tenant
 * its actors use, so each pheromone write reaches each node's sweeper: as many deliveries per
 * write as nodes (docs/scaling.md), where one is enough.
 *
 * The nodes of a swarm elect, per tenant, the node that sweeps, through one KV entry per tenant
 * in `ants_sweepers` (history 1): `{node}`, written by the sweeping node and renewed every
 * `renewMs` (2 s) with the revision it last wrote (compare-and-set). Every other node reads the
 * entry as often; it takes over, with the revision it read, when the entry is absent or its
 * revision has not moved for `staleAfterMs` (6 s, three renewals) by its own clock, so clock skew
 * between nodes does not matter. A node that stops gives the entry up (deletes it), and another
 * takes over at its next look.
 *
 * Promises:
 *   - Some node sweeps each tenant in use: a node that cannot read or write the entry (the bucket
 *     cannot be made, the connection is lost, the server refuses) sweeps, as every node did
 *     before, and logs it once per change. Two nodes may sweep at once for a while (a takeover
 *     racing a late renewal; compare-and-set on a clustered bucket of nats-server 2.9 is not
 *     serialised): sweeping is idempotent, so that costs only work.
 *   - After the sweeping node dies, expired trails go unswept for at most `staleAfterMs` plus
 *     `renewMs` (8 s by default): readers hide them at once; `evaporated` comes that much later.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { SWEEPER_BUCKET } from "../../subjects/pheromones.ts"

export interface SweeperElectionOptions {
  readonly nodeId: string
  /** Replicas of the bucket if this node creates it (default 1). */
  readonly replicas?: number
  /** How often the sweeping node renews its entry and the others look (default 2000 ms). */
  readonly renewMs?: number
  /** An entry whose revision has not moved for this long is taken over (default 3 renewals). */
  readonly staleAfterMs?: number
  readonly log?: (level: "info" | "warn" | "error", m: string) => void
}

/** Elects, per tenant, whether this node sweeps: `lead(true)` to start sweeping, `lead(false)` to stop. */
export type SweeperElector = (tenant: string, lead: (sweep: boolean) => void) => { stop(): Promise<void> }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function sweeperElector(nc: NatsConnection, options: SweeperElectionOptions): SweeperElector {
  const renewMs = options.renewMs ?? 2000
  const staleAfterMs = options.staleAfterMs ?? 3 * renewMs
  const log = options.log ?? (() => {})
  let bucket: Promise<KV> | undefined
  const open = () => {
    if (bucket === undefined) {
      const opening = new Kvm(nc).create(SWEEPER_BUCKET, { history: 1, replicas: options.replicas ?? 1 })
      // a failed open is tried again at the next look
      opening.catch(() => (bucket = undefined))
      bucket = opening
    }
    return bucket
  }
  const body = encoder.encode(JSON.stringify({ node: options.nodeId }))
  const ours = (value: Uint8Array) => {
    try {
      return (JSON.parse(decoder.decode(value)) as { node?: unknown }).node === options.nodeId
    } catch {
      return false
    }
  }

  return (tenant, lead) => {
    let stopped = false
    let sweeping: boolean | undefined
    /** The revision this node wrote last (while it sweeps), or the one it saw last and since when. */
    let mine = 0
    let seen = { revision: -1, since: 0 }
    let failing = false
    const set = (on: boolean) => {
      if (on !== sweeping && !(on && stopped)) lead((sweeping = on))
    }
    const look = async () => {
      const kv = await open()
      if (sweeping && mine > 0) {
        // renew; a refusal means another node wrote meanwhile: it sweeps now
        try {
          mine = await kv.update(tenant, body, mine)
          return
        } catch {
          mine = 0
        }
      }
      const e = await kv.get(tenant)
      const now = Date.now()
      const live = e !== null && e.operation === "PUT"
      if (live && e.revision !== seen.revision) seen = { revision: e.revision, since: now }
      if (live && now - seen.since < staleAfterMs && !ours(e.value)) return set(false)
      try {
        // the entry is this node's own (written before a lost connection), stale, or absent
        mine = live ? await kv.update(tenant, body, e.revision) : await kv.create(tenant, body)
        // stopped meanwhile: give it up at once rather than leave it to go stale
        if (stopped) await kv.delete(tenant, { previousSeq: mine }).catch(() => undefined)
        set(true)
      } catch {
        // another node wrote first
        set(false)
      }
    }
    const tick = () => {
      if (stopped) return
      look().then(
        () => {
          if (failing) log("info", `pheromone sweeper of tenant "${tenant}": the election in ${SWEEPER_BUCKET} works again`)
          failing = false
        },
        (e) => {
          if (!failing) log("warn", `pheromone sweeper of tenant "${tenant}": the election in ${SWEEPER_BUCKET} failed (${(e as Error)?.message ?? e}); this node sweeps meanwhile`)
          failing = true
          mine = 0
          set(true)
        },
      ).finally(() => {
        if (!stopped) timer = setTimeout(tick, renewMs)
        timer?.unref?.()
      })
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    tick()
    return {
      async stop() {
        stopped = true
        if (timer) clearTimeout(timer)
        if (sweeping && mine > 0) {
          const kv = await open().catch(() => undefined)
          await kv?.delete(tenant, { previousSeq: mine }).catch(() => undefined)
        }
      },
    }
  }
}
