/**
 * The stigmergy workspace: shared artifacts that agents observe and modify (seed: "agents
 * coordinate by observing and modifying shared artifacts"). Artifacts live in the KV bucket
 * `ants_workspace` under `<tenant>.<artifact...>` (layout and schema in subjects/pheromones.ts),
 * each with a status: `incomplete`, `in_progress`, `needs_review`, `in_review`, `done` or any
 * custom token.
 *
 * Promises:
 *   - Every write is revision-checked. `transition(id, {to, revision})` fails with a
 *     PheromoneError `conflict` when the artifact has changed since `revision`;
 *     `transition(id, {from, to})` without a revision re-reads and retries while the artifact is
 *     still in `from`, and fails with `conflict` once it is not.
 *   - `watchStatus(statuses, handler)` delivers an artifact each time it reaches one of
 *     `statuses` (a create in that status or a transition into it; data-only updates are not
 *     deliveries), plus, by default, those already in such a status when the watch starts.
 *   - Once per transition across a queue of watchers: give `claim: "<status>"` and a watcher
 *     first moves the artifact from the status it saw to the claim status, checked against the
 *     exact revision it saw, and stamps the claim (`claimedBy`, `claimedAt`, `leaseMs`). Of all
 *     watchers that saw the same transition (any process, any node) exactly one wins that write
 *     and gets the handler call; the others see a conflict and skip it.
 *   - Leases. A claim is held for `leaseMs` (default 60 s): the handler's time budget. Every
 *     claiming watcher also reaps: an artifact sitting in its claim status, having come from one
 *     of its statuses, whose lease ran out (`claimedAt + leaseMs`) is moved back to the status
 *     it came from (revision-checked, so one watcher does it), which is a new transition and is
 *     delivered again. So work whose claimant died (crash, lost node) is continued by another
 *     agent within leaseMs plus one reap interval, as long as some watcher of those statuses
 *     runs. A handler that overruns its lease may see the artifact delivered to someone else:
 *     finish within the lease, and fence the final transition with the delivered `revision`.
 *   - If the handler throws, the claim is released (moved back to the status it came from)
 *     after `releaseDelayMs` (default 1 s), unless `releaseOnError(err)` says to leave it to the
 *     lease. A release or reap touches only the claim it is about (same holder and stamp).
 *   - Watches belong to the view that started them: `close()` stops only that view's watches;
 *     a view with a `signal` stops them when it aborts.
 *
 * This is what the runtime uses for declarative interest: an agent type declaring
 * `interest: { statuses: ["needs_review"], claim: "in_review" }` gets one status watch per node
 * with that claim (over every tenant unless it lists some), so each artifact that needs review
 * is delivered to exactly one instance.
 */
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import { nuid, type NatsConnection } from "@nats-io/nats-core"
import { isToken } from "../../subjects/grammar.ts"
import {
  MAX_ARTIFACT_BYTES,
  MAX_KEY_TOKEN_LENGTH,
  PheromoneError,
  artifactFilter,
  artifactIdValue,
  artifactKey,
  boundedKey,
  type ArtifactEntry,
  type ArtifactStatus,
} from "../../subjects/pheromones.ts"
import { dataValue, emitterValue, statusValue } from "./pheromone-rules.ts"
import { readLatest, readOne, writeMarker, writeValue, workspaceStore, type KvStore } from "./kv-store.ts"
import { ownedWatches, stopEvery, viewCore } from "./views.ts"
import type { Artifact, Claims, StatusWatchOptions, Workspace, WorkspaceOptions, WorkspaceWatch } from "./workspace-api.ts"
import { decodeArtifact, startStatusWatch } from "./workspace-watch.ts"

export { DEFAULT_LEASE_MS, DEFAULT_RELEASE_DELAY_MS } from "./workspace-api.ts"
export type { Artifact, CreateArtifact, StatusWatchOptions, TransitionInput, Workspace, WorkspaceOptions, WorkspaceWatch } from "./workspace-api.ts"

const MAX_ATTEMPTS = 100

interface Core {
  readonly nc: NatsConnection
  readonly tenant: string
  readonly now: () => number
  readonly replicas?: number
  /** Every open watch of every view (`stopAllWorkspaceWatches`). */
  readonly watches: Set<WorkspaceWatch>
}

const claimsOf = new WeakMap<Workspace, Claims>()
const cores = new WeakMap<Workspace, Core>()

export function createWorkspace(nc: NatsConnection, options: WorkspaceOptions = {}): Workspace {
  const core: Core = { ...viewCore(nc, options), watches: new Set() }
  return bind(core, emitterValue(options.actor ?? "anonymous"), options.signal)
}

/** Stops every watch of every view of the instance `ws` belongs to (the node does this when it drains). */
export async function stopAllWorkspaceWatches(ws: Workspace): Promise<void> {
  const core = cores.get(ws)
  if (core) await stopEvery(core.watches)
}

/** The stored fields of an artifact, without its claim stamp unless `keepClaim`. */
function entryOf(a: ArtifactEntry, keepClaim = true): ArtifactEntry {
  const e: { -readonly [K in keyof ArtifactEntry]: ArtifactEntry[K] } = {
    status: a.status,
    kind: a.kind,
    data: a.data,
    createdBy: a.createdBy,
    createdAt: a.createdAt,
    updatedBy: a.updatedBy,
    updatedAt: a.updatedAt,
    transitions: a.transitions,
  }
  if (a.previousStatus !== undefined) e.previousStatus = a.previousStatus
  if (keepClaim && a.claimedAt !== undefined) {
    if (a.claimedBy !== undefined) e.claimedBy = a.claimedBy
    e.claimedAt = a.claimedAt
    if (a.leaseMs !== undefined) e.leaseMs = a.leaseMs
  }
  return e
}

function bind(core: Core, actor: string, signal?: AbortSignal): Workspace {
  const { tenant } = core
  const store = () => workspaceStore(core.nc, { replicas: core.replicas })
  const { close: closeOwn, adopt } = ownedWatches(signal)

  const read = async (s: KvStore, key: string) => {
    const item = await readOne(s, key)
    return { revision: item?.revision ?? 0, artifact: item ? decodeArtifact(item) : undefined }
  }

  const write = async (s: KvStore, key: string, entry: ArtifactEntry, expectRevision: number): Promise<Artifact> => {
    const revision = await writeValue(s, key, JSON.stringify(entry), { expectRevision })
    return { ...entry, id: key.slice(tenant.length + 1), key, tenant, revision }
  }

  /** Read-check-write, retried on conflict unless the caller pinned a revision. */
  const change = async (id: string, pinned: number | undefined, step: (current: Artifact) => ArtifactEntry): Promise<Artifact> => {
    const key = artifactKey(tenant, artifactIdValue(id))
    if (pinned !== undefined && !(Number.isInteger(pinned) && pinned > 0)) {
      throw new PheromoneError("invalid_request", `revision must be a positive integer, got ${JSON.stringify(pinned)}`)
    }
    const s = await store()
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { artifact } = await read(s, key)
      if (!artifact) throw new PheromoneError("not_found", `no artifact "${id}" in tenant "${tenant}"`)
      if (pinned !== undefined && artifact.revision !== pinned) {
        throw new PheromoneError("conflict", `artifact "${id}" is at revision ${artifact.revision}, not ${pinned}`, {
          details: { revision: artifact.revision, status: artifact.status },
        })
      }
      const next = step(artifact)
      try {
        return await write(s, key, next, artifact.revision)
      } catch (e) {
        if (!isWrongLastSequence(e)) throw e
        if (pinned !== undefined) throw new PheromoneError("conflict", `artifact "${id}" changed after revision ${pinned}`, { cause: e })
      }
    }
    throw new PheromoneError("conflict", `artifact "${id}" kept changing: gave up after ${MAX_ATTEMPTS} attempts`)
  }

  /** The entry of `current` moved to `to` (a transition counted when the status changes; a claim ends). */
  const moved = (current: Artifact, to: string, data: unknown, by: string): ArtifactEntry => {
    const changes = current.status !== to
    return {
      ...entryOf(current, !changes),
      status: to,
      data: data === undefined ? current.data : data,
      updatedBy: by,
      updatedAt: core.now(),
      transitions: changes ? current.transitions + 1 : current.transitions,
      ...(changes ? { previousStatus: current.status } : {}),
    }
  }

  const notHeld = (id: string, current: Artifact, why: string) =>
    new PheromoneError("conflict", `artifact "${id}" ${why} (status "${current.status}")`, { details: { revision: current.revision, status: current.status } })

  const claims: Claims = {
    actor,
    claim: (a, to, leaseMs) =>
      change(a.id, a.revision, (current) => {
        if (current.status !== a.status) throw notHeld(a.id, current, "moved on")
        const now = core.now()
        return { ...moved(current, to, undefined, actor), claimedBy: actor, claimedAt: now, leaseMs }
      }),
    release: (held, to) =>
      change(held.id, undefined, (current) => {
        if (current.status !== held.status || current.claimedAt !== held.claimedAt || current.claimedBy !== held.claimedBy) {
          throw notHeld(held.id, current, "is no longer this claim")
        }
        return moved(current, to, undefined, actor)
      }),
    reap: (seen, to) => change(seen.id, seen.revision, (current) => moved(current, to, undefined, actor)),
  }

  const ws: Workspace = {
    tenant,
    actor,

    withActor(other, options) {
      return bind(core, emitterValue(other), options?.signal)
    },

    async create(input) {
      if (input === null || typeof input !== "object") throw new PheromoneError("invalid_request", "create takes {id?, kind?, status?, data?}")
      const id = artifactIdValue(input.id ?? `artifacts.${nuid.next()}`)
      const kind = input.kind ?? "artifact"
      if (!isToken(kind)) {
        throw new PheromoneError("invalid_request", `kind ${JSON.stringify(String(kind).slice(0, 40))} must be one token of at most ${MAX_KEY_TOKEN_LENGTH} letters, digits, '_' and '-'`)
      }
      const status = statusValue(input.status ?? "incomplete")
      const data = dataValue(input.data, MAX_ARTIFACT_BYTES)
      const now = core.now()
      const entry: ArtifactEntry = { status, kind, data, createdBy: actor, createdAt: now, updatedBy: actor, updatedAt: now, transitions: 0 }
      const key = artifactKey(tenant, id)
      const s = await store()
      for (let attempt = 0; attempt < 3; attempt++) {
        const { revision, artifact } = await read(s, key)
        if (artifact) throw new PheromoneError("conflict", `artifact "${id}" already exists (status ${artifact.status})`)
        try {
          return await write(s, key, entry, revision)
        } catch (e) {
          if (!isWrongLastSequence(e)) throw e
        }
      }
      throw new PheromoneError("conflict", `artifact "${id}" was created concurrently`)
    },

    async get(id) {
      const key = artifactKey(tenant, artifactIdValue(id))
      return (await read(await store(), key)).artifact
    },

    async list(query = {}) {
      const prefix = query.prefix === undefined ? undefined : artifactIdValue(query.prefix)
      const statuses = query.statuses === undefined ? undefined : new Set(query.statuses.map(statusValue))
      const items = await readLatest(await store(), artifactFilter(tenant, prefix))
      const out: Artifact[] = []
      for (const item of items) {
        const a = decodeArtifact(item)
        if (a && (!statuses || statuses.has(a.status))) out.push(a)
      }
      return out
    },

    async transition(id, input) {
      if (input === null || typeof input !== "object") throw new PheromoneError("invalid_request", "transition takes {to, from?, revision?, data?}")
      const to = statusValue(input.to)
      const from = input.from === undefined ? undefined : statusValue(input.from)
      const data = input.data === undefined ? undefined : dataValue(input.data, MAX_ARTIFACT_BYTES)
      return await change(id, input.revision, (current) => {
        if (from !== undefined && current.status !== from) {
          throw new PheromoneError("conflict", `artifact "${id}" is "${current.status}", not "${from}"`, {
            details: { revision: current.revision, status: current.status },
          })
        }
        return moved(current, to, data, actor)
      })
    },

    async update(id, input) {
      if (input === null || typeof input !== "object") throw new PheromoneError("invalid_request", "update takes {data, revision?}")
      const data = dataValue(input.data, MAX_ARTIFACT_BYTES)
      return await change(id, input.revision, (current) => ({ ...entryOf(current), data, updatedBy: actor, updatedAt: core.now() }))
    },

    async remove(id, revision) {
      const key = artifactKey(tenant, artifactIdValue(id))
      const s = await store()
      const current = await read(s, key)
      if (!current.artifact) return false
      if (revision !== undefined && current.revision !== revision) {
        throw new PheromoneError("conflict", `artifact "${id}" is at revision ${current.revision}, not ${revision}`)
      }
      try {
        await writeMarker(s, key, { expectRevision: current.revision })
        return true
      } catch (e) {
        if (isWrongLastSequence(e)) throw new PheromoneError("conflict", `artifact "${id}" changed while being removed`, { cause: e })
        throw e
      }
    },

    async watchStatus(statuses, handler, options = {}) {
      const prefix = options.prefix === undefined ? undefined : artifactIdValue(options.prefix)
      const w = await startStatusWatch({
        nc: core.nc,
        store: await store(),
        filter: artifactFilter(tenant, prefix),
        claimsFor: (t) => (t === tenant ? claims : undefined),
        now: core.now,
        statuses,
        handler,
        options,
      })
      return adopt(w, core.watches)
    },

    close: closeOwn,
  }
  claimsOf.set(ws, claims)
  cores.set(ws, core)
  return ws
}

export interface AllTenantsWatchOptions {
  /** Who signs the claims in a tenant (default `<tenant>/anonymous`). */
  readonly actor?: (tenant: string) => string
  readonly now?: () => number
  readonly replicas?: number
}

/**
 * A status watch over every tenant of the workspace (key filter `*.>`, or `*.<prefix>.>`):
 * what the runtime uses for declared interests that list no tenants. Each delivered artifact
 * names its tenant; claims are written in that tenant by `actor(tenant)`. Needs a connection
 * allowed to read and write every tenant (the runtime's), not a tenant user's.
 */
export async function watchStatusAllTenants(
  nc: NatsConnection,
  statuses: ReadonlyArray<ArtifactStatus>,
  handler: (artifact: Artifact) => void | Promise<void>,
  options: StatusWatchOptions = {},
  all: AllTenantsWatchOptions = {},
): Promise<WorkspaceWatch> {
  const prefix = options.prefix === undefined ? undefined : artifactIdValue(options.prefix)
  const byTenant = new Map<string, Claims | undefined>()
  const claimsFor = (tenant: string): Claims | undefined => {
    if (!byTenant.has(tenant)) {
      let c: Claims | undefined
      try {
        const ws = createWorkspace(nc, { tenant, actor: all.actor?.(tenant) ?? `${tenant}/anonymous`, now: all.now, replicas: all.replicas })
        c = claimsOf.get(ws)
      } catch {
        c = undefined // a key whose first token is not a tenant: not an artifact of ours
      }
      byTenant.set(tenant, c)
    }
    return byTenant.get(tenant)
  }
  return await startStatusWatch({
    nc,
    store: await workspaceStore(nc, { replicas: all.replicas }),
    filter: boundedKey(prefix ? `*.${prefix}.>` : "*.>", "key filter"),
    claimsFor,
    now: all.now ?? Date.now,
    statuses,
    handler,
    options,
  })
}

