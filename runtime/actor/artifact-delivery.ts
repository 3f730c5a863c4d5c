/**
 * The node's side of stigmergy: pheromones and the shared workspace for actors (`ctx.pheromones`,
 * `ctx.workspace`, bound to the actor's tenant and signed by the actor), and declarative
 * interest: an agent type declaring `interests` gets the artifacts that reach a status
 * delivered as messages, each artifact to exactly one actor across the swarm (a revision-checked
 * claim, see runtime/stigmergy/workspace.ts).
 *
 * Promises:
 *   - Every view handed to an actor is its own: its `close()` stops only its watches, and the
 *     watches it opened stop when its `signal` aborts (the actor's activation ends). The node's
 *     sweepers and interest watches live apart and stop only when the node closes.
 *   - Every tenant the node's actors use is swept (one sweeper per tenant), so expired trails
 *     are deleted and `evaporated` reaches every watcher on servers without per-message TTL: by
 *     this node, or, with `sweeperElection`, by the one node the swarm elected for the tenant. A
 *     sweeper that fails to start (JetStream not ready, a lost connection) is retried, with a
 *     pause doubling from `sweeperRetryMs` (1 s) to 30 s, and each failure is logged.
 *   - Interests watch every tenant unless they list `tenants`. The delivery is an ask whose
 *     timeout is the claim's lease (`timeoutMs`, default 60 s): if the actor answers with an
 *     error the claim is released at once (after 1 s) and the artifact is delivered again; if it
 *     does not answer in time, nothing is released early: the claim goes stale when its lease
 *     ends and any node's watcher moves it back, as it does for a claimant whose node died.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import * as Schema from "effect/Schema"
import { agentSubject } from "../../subjects/grammar.ts"
import { askSubject } from "../client/messaging.ts"
import type { AgentDefinition, Interest } from "../agent/define-agent.ts"

export type { Interest }
import {
  createPheromones,
  createWorkspace,
  stopAllWatches,
  stopAllWorkspaceWatches,
  watchStatusAllTenants,
  type Artifact,
  type Pheromones,
  type PheromoneWatch,
  type PheromoneWrite,
  type StatusWatchOptions,
  type Workspace,
  type WorkspaceWatch,
} from "../stigmergy/mod.ts"
import type { SweeperElector } from "../stigmergy/sweeper-election.ts"


/** The message an interest delivers: `{ artifact: {id, status, kind, data, revision, ...} }`. */
export const ArtifactDelivery = Schema.Struct({
  artifact: Schema.Struct({
    id: Schema.String,
    tenant: Schema.String,
    status: Schema.String,
    kind: Schema.String,
    revision: Schema.Number,
    data: Schema.Unknown,
  }),
})

export interface Stigmergy {
  /** A view for one actor: signed by `emitter`; its watches stop when `signal` aborts. */
  pheromones(tenant: string, emitter: string, signal?: AbortSignal): Pheromones
  workspace(tenant: string, actor: string, signal?: AbortSignal): Workspace
  /** Starts the watches of declared interests (once the node serves its agents). */
  startInterests(agents: ReadonlyArray<AgentDefinition<any, any>>, log: (level: "info" | "warn" | "error", m: string) => void): Promise<void>
  /** Tenants this node sweeps (with an election: those it was elected for), and whether each one's sweeper is running (false: starting or retrying). */
  sweepers(): ReadonlyMap<string, boolean>
  close(): Promise<void>
}

export interface StigmergyOptions {
  /** Replicas of the pheromone and workspace buckets if this node creates them (default 1). */
  readonly replicas?: number
  readonly log?: (level: "info" | "warn" | "error", m: string) => void
  /** First pause before a failed sweeper start is retried (default 1000 ms; doubles up to 30 s). */
  readonly sweeperRetryMs?: number
  /**
   * Elects the node that sweeps each tenant (runtime/stigmergy/sweeper-election.ts; a runtime node
   * passes one on its own connection). Without it this node sweeps every tenant it uses.
   */
  readonly sweeperElection?: SweeperElector
  /** Called after every pheromone write of every tenant (the governance layer's audit receipts); keep it cheap. */
  readonly onPheromoneWrite?: (tenant: string, write: PheromoneWrite) => void
}

const encoder = new TextEncoder()
const MAX_SWEEPER_RETRY_MS = 30_000

export function createStigmergy(nc: NatsConnection, options: StigmergyOptions = {}): Stigmergy {
  const { replicas } = options
  let log = options.log ?? (() => {})
  const pheromoneByTenant = new Map<string, Pheromones>()
  const workspaceByTenant = new Map<string, Workspace>()
  /**
   * The tenants this node sweeps, each with a slot for its running sweeper (none: starting or
   * retrying). A start whose slot is no longer the tenant's (stopped, or started again) is undone.
   */
  const sweeping = new Map<string, { watch?: PheromoneWatch }>()
  const elections: Array<{ stop(): Promise<void> }> = []
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let closed = false

  // A sweeper deletes expired trails so that `evaporated` reaches every watcher even on servers
  // without per-message TTL. It runs on the tenant's root instance, which no actor is handed
  // (actors get views): on every node that uses the tenant, or, with `sweeperElection`, on the
  // one node elected for it.
  const startSweeper = (tenant: string, root: Pheromones, pause: number, slot: { watch?: PheromoneWatch }) => {
    const stale = () => closed || sweeping.get(tenant) !== slot
    if (stale()) return
    root.startSweeper().then(
      (w) => {
        if (stale()) void w.stop().catch(() => undefined)
        else slot.watch = w
      },
      (e) => {
        if (stale()) return
        log("warn", `pheromone sweeper of tenant "${tenant}" did not start (${(e as Error)?.message ?? e}); retrying in ${pause} ms`)
        const t = setTimeout(() => {
          timers.delete(t)
          startSweeper(tenant, root, Math.min(MAX_SWEEPER_RETRY_MS, pause * 2), slot)
        }, pause)
        t.unref?.()
        timers.add(t)
      },
    )
  }
  const sweep = (tenant: string, root: Pheromones, on: boolean) => {
    if (on === sweeping.has(tenant)) return
    if (on) {
      const slot = {}
      sweeping.set(tenant, slot)
      startSweeper(tenant, root, options.sweeperRetryMs ?? 1000, slot)
    } else {
      const running = sweeping.get(tenant)?.watch
      sweeping.delete(tenant)
      void running?.stop().catch(() => undefined)
    }
  }
  const tenantPheromones = (tenant: string) => {
    let p = pheromoneByTenant.get(tenant)
    if (!p) {
      const root = createPheromones(nc, { tenant, replicas, emitter: "ants-node", ...(options.onPheromoneWrite ? { onWrite: (w: PheromoneWrite) => options.onPheromoneWrite!(tenant, w) } : {}) })
      pheromoneByTenant.set(tenant, (p = root))
      if (options.sweeperElection && !closed) elections.push(options.sweeperElection(tenant, (on) => sweep(tenant, root, on)))
      else sweep(tenant, root, true)
    }
    return p
  }
  const tenantWorkspace = (tenant: string) => {
    let w = workspaceByTenant.get(tenant)
    if (!w) workspaceByTenant.set(tenant, (w = createWorkspace(nc, { tenant, replicas })))
    return w
  }
  const watches: WorkspaceWatch[] = []
  return {
    pheromones: (tenant, emitter, signal) => tenantPheromones(tenant).withEmitter(emitter, { signal }),
    workspace: (tenant, actor, signal) => tenantWorkspace(tenant).withActor(actor, { signal }),
    sweepers: () => new Map([...sweeping].map(([t, slot]) => [t, slot.watch !== undefined])),
    async startInterests(agents, nodeLog) {
      log = options.log ?? nodeLog
      for (const def of agents) {
        for (const interest of (def.interests ?? []) as ReadonlyArray<Interest>) {
          const leaseMs = interest.timeoutMs ?? 60_000
          const handler = async (artifact: Artifact) => {
            const id = typeof interest.to === "function" ? interest.to(artifact) : (interest.to ?? "default")
            const subject = agentSubject({ tenant: artifact.tenant, type: def.type, id, tag: interest.tag })
            const body = encoder.encode(JSON.stringify({ artifact }))
            // throws on an error envelope (the claim is released) or no answer in time (left to the lease)
            await askSubject(nc, subject, body, leaseMs)
          }
          const watchOptions: StatusWatchOptions = {
            claim: interest.claim ?? "in_progress",
            kinds: interest.kinds,
            prefix: interest.prefix,
            leaseMs,
            releaseOnError: (e) => (e as { code?: string })?.code !== "timeout",
            onError: (e) => log("warn", `interest of ${def.type} in ${interest.statuses.join("|")}: ${(e as Error)?.message ?? e}`),
          }
          if (interest.tenants === undefined) {
            watches.push(await watchStatusAllTenants(nc, interest.statuses, handler, watchOptions, { actor: (t) => `${t}/${def.type}`, replicas }))
            continue
          }
          for (const tenant of interest.tenants) {
            const ws = tenantWorkspace(tenant).withActor(`${tenant}/${def.type}`)
            watches.push(await ws.watchStatus(interest.statuses, handler, watchOptions))
          }
        }
      }
    },
    async close() {
      closed = true
      for (const t of timers) clearTimeout(t)
      timers.clear()
      await Promise.all(elections.map((e) => e.stop().catch(() => undefined)))
      await Promise.all(watches.map((w) => w.stop().catch(() => undefined)))
      await Promise.all([...sweeping.values()].map((slot) => slot.watch?.stop().catch(() => undefined)))
      // what actors opened and did not close (their activations may still be running)
      await Promise.all([...pheromoneByTenant.values()].map((p) => stopAllWatches(p)))
      await Promise.all([...workspaceByTenant.values()].map((w) => stopAllWorkspaceWatches(w)))
    },
  }
}
