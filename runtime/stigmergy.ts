/**
 * The node's side of stigmergy: pheromones and the shared workspace for actors (`ctx.pheromones`,
 * `ctx.workspace`, bound to the actor's tenant and signed by the actor), and declarative
 * interest: an agent type declaring `interests` gets the artifacts that reach a status
 * delivered as messages, each artifact to exactly one actor across the swarm (a revision-checked
 * claim, see runtime/pheromones/workspace.ts). The delivery is an ask: if the actor fails or no
 * node answers, the claim is released and the artifact is delivered again.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Schema } from "effect"
import { agentSubject } from "../subjects/grammar.ts"
import { askSubject } from "./client.ts"
import type { AgentDefinition } from "./define-agent.ts"
import { createPheromones, createWorkspace, type Artifact, type Pheromones, type PheromoneWatch, type Workspace, type WorkspaceWatch } from "./pheromones/mod.ts"

/** A declared interest in artifacts reaching some statuses. */
export interface Interest {
  /** Statuses that trigger a delivery (e.g. `["needs_review"]`). */
  readonly statuses: ReadonlyArray<string>
  /** The protocol tag the artifact is delivered as; its message Schema should accept `{artifact}` (see `ArtifactDelivery`). */
  readonly tag: string
  /** The status the artifact is moved to when claimed (default `in_progress`), so one actor gets it. */
  readonly claim?: string
  readonly kinds?: ReadonlyArray<string>
  readonly prefix?: string
  /** Which actor gets it (default `default`). */
  readonly to?: string | ((artifact: Artifact) => string)
  /** Tenants watched (default `["default"]`). */
  readonly tenants?: ReadonlyArray<string>
  /** How long the actor may take before the claim is released (default 60000 ms). */
  readonly timeoutMs?: number
}

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
  pheromones(tenant: string, emitter: string): Pheromones
  workspace(tenant: string, actor: string): Workspace
  /** Starts the watches of declared interests (once the node serves its agents). */
  startInterests(agents: ReadonlyArray<AgentDefinition<any, any>>, log: (level: "info" | "warn" | "error", m: string) => void): Promise<void>
  close(): Promise<void>
}

const encoder = new TextEncoder()

export function createStigmergy(nc: NatsConnection): Stigmergy {
  const pheromoneByTenant = new Map<string, Pheromones>()
  const workspaceByTenant = new Map<string, Workspace>()
  const sweepers: Array<Promise<PheromoneWatch | undefined>> = []
  const tenantPheromones = (tenant: string) => {
    let p = pheromoneByTenant.get(tenant)
    if (!p) {
      pheromoneByTenant.set(tenant, (p = createPheromones(nc, { tenant })))
      // each node sweeps the tenants its actors use, so expired trails are deleted and
      // `evaporated` reaches every watcher even on servers without per-message TTL
      sweepers.push(p.startSweeper().catch(() => undefined))
    }
    return p
  }
  const tenantWorkspace = (tenant: string) => {
    let w = workspaceByTenant.get(tenant)
    if (!w) workspaceByTenant.set(tenant, (w = createWorkspace(nc, { tenant })))
    return w
  }
  const watches: WorkspaceWatch[] = []
  return {
    pheromones: (tenant, emitter) => tenantPheromones(tenant).withEmitter(emitter),
    workspace: (tenant, actor) => tenantWorkspace(tenant).withActor(actor),
    async startInterests(agents, log) {
      for (const def of agents) {
        for (const interest of (def.interests ?? []) as ReadonlyArray<Interest>) {
          for (const tenant of interest.tenants ?? ["default"]) {
            const ws = tenantWorkspace(tenant).withActor(`${tenant}/${def.type}`)
            const w = await ws.watchStatus(
              interest.statuses,
              async (artifact) => {
                const id = typeof interest.to === "function" ? interest.to(artifact) : (interest.to ?? "default")
                const subject = agentSubject({ tenant, type: def.type, id, tag: interest.tag })
                const body = encoder.encode(JSON.stringify({ artifact }))
                // throws on an error envelope or no answer: the workspace then releases the claim
                await askSubject(nc, subject, body, interest.timeoutMs ?? 60_000)
              },
              {
                claim: interest.claim ?? "in_progress",
                kinds: interest.kinds,
                prefix: interest.prefix,
                onError: (e) => log("warn", `interest of ${def.type} in ${interest.statuses.join("|")}: ${(e as Error)?.message ?? e}`),
              },
            )
            watches.push(w)
          }
        }
      }
    },
    async close() {
      await Promise.all(watches.map((w) => w.stop().catch(() => undefined)))
      await Promise.all(sweepers.map(async (s) => (await s)?.stop().catch(() => undefined)))
      await Promise.all([...pheromoneByTenant.values()].map((p) => p.close().catch(() => undefined)))
      await Promise.all([...workspaceByTenant.values()].map((w) => w.close().catch(() => undefined)))
    },
  }
}
