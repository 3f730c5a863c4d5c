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
 *     exact revision it saw. Of all watchers that saw the same transition (any process, any
 *     node) exactly one wins that write and gets the handler call; the others see a conflict and
 *     skip it. If the handler throws, the claim is released (moved back to the status it came
 *     from) after `releaseDelayMs` (default 1 s), which is a new transition and is delivered
 *     again. A claimant that dies mid-handler leaves the artifact in the claim status: a
 *     supervisor (or a person) moves stale claims back; nothing here times them out.
 *
 * This is what the runtime uses for declarative interest: an agent type declaring
 * `interest: { statuses: ["needs_review"], claim: "in_review" }` gets one `watchStatus` per node
 * with that claim, so each artifact that needs review is delivered to exactly one instance.
 */
import { nuid, type NatsConnection } from "@nats-io/nats-core"
import { DEFAULT_TENANT, isToken } from "../../subjects/grammar.ts"
import {
  MAX_ARTIFACT_BYTES,
  PheromoneError,
  artifactFilter,
  artifactIdValue,
  artifactKey,
  dataValue,
  emitterValue,
  statusValue,
  tenantValue,
  type ArtifactEntry,
  type ArtifactStatus,
} from "../../subjects/pheromones.ts"
import { openKvFeed } from "./kv-feed.ts"
import { isRevisionConflict, readLatest, readOne, writeMarker, writeValue, workspaceStore, type KvItem, type KvStore } from "./kv-store.ts"

export type Artifact = ArtifactEntry & {
  /** The artifact's path, e.g. `reports.q3`. */
  readonly id: string
  readonly key: string
  readonly tenant: string
  /** KV revision: pass it to `transition` to make sure nobody changed the artifact since. */
  readonly revision: number
}

export interface CreateArtifact {
  /** Dotted tokens; default a fresh unique id under `artifacts.`. */
  readonly id?: string
  /** A token describing what it is (`report`, `patch`, ...); default `artifact`. */
  readonly kind?: string
  /** Default `incomplete`. */
  readonly status?: ArtifactStatus
  /** Any JSON, at most MAX_ARTIFACT_BYTES. */
  readonly data?: unknown
}

export interface TransitionInput {
  readonly to: ArtifactStatus
  /** Required current status. */
  readonly from?: ArtifactStatus
  /** Required current revision: a stale one fails with `conflict`, no retry. */
  readonly revision?: number
  /** New data (default: unchanged). */
  readonly data?: unknown
}

export interface StatusWatchOptions {
  /** Only artifacts under this path prefix. */
  readonly prefix?: string
  /** Only artifacts of these kinds. */
  readonly kinds?: ReadonlyArray<string>
  /** Claim each delivery by moving it to this status first (queue semantics, see above). */
  readonly claim?: ArtifactStatus
  /**
   * With `claim`: how long after a failed handler the claim is released, so a failing artifact
   * is retried at this pace rather than in a hot loop (default 1000 ms).
   */
  readonly releaseDelayMs?: number
  /** Deliver artifacts already in a watched status when the watch starts (default true). */
  readonly includeExisting?: boolean
  /** Handler and claim errors; default console.error. */
  readonly onError?: (err: unknown) => void
}

export interface WorkspaceWatch {
  stop(): Promise<void>
}

export interface WorkspaceOptions {
  readonly tenant?: string
  /** Who signs writes (usually `<tenant>/<type>/<id>`); default `anonymous`. */
  readonly actor?: string
  readonly now?: () => number
}

export interface Workspace {
  readonly tenant: string
  readonly actor: string
  withActor(actor: string): Workspace
  /** Creates an artifact; `conflict` when the id is taken. */
  create(input: CreateArtifact): Promise<Artifact>
  get(id: string): Promise<Artifact | undefined>
  /** Artifacts of the tenant (under `prefix`), optionally only in some statuses. One prefix read. */
  list(query?: { prefix?: string; statuses?: ReadonlyArray<ArtifactStatus> }): Promise<Artifact[]>
  /** Revision-checked status change (and optional data change). */
  transition(id: string, input: TransitionInput): Promise<Artifact>
  /** Revision-checked data change that keeps the status (not a delivery to watchers). */
  update(id: string, input: { data: unknown; revision?: number }): Promise<Artifact>
  /** Deletes an artifact; false when there was none. */
  remove(id: string, revision?: number): Promise<boolean>
  watchStatus(statuses: ReadonlyArray<ArtifactStatus>, handler: (artifact: Artifact) => void | Promise<void>, options?: StatusWatchOptions): Promise<WorkspaceWatch>
  /** Stops every watch started through this instance or its views. */
  close(): Promise<void>
}

const MAX_ATTEMPTS = 100
const decoder = new TextDecoder()

interface Core {
  readonly nc: NatsConnection
  readonly tenant: string
  readonly now: () => number
  readonly watches: Set<WorkspaceWatch>
}

export function createWorkspace(nc: NatsConnection, options: WorkspaceOptions = {}): Workspace {
  const core: Core = { nc, tenant: tenantValue(options.tenant ?? DEFAULT_TENANT), now: options.now ?? Date.now, watches: new Set() }
  return bind(core, emitterValue(options.actor ?? "anonymous"))
}

function decodeArtifact(item: KvItem, prefixLength: number): Artifact | undefined {
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
  return { ...(e as ArtifactEntry), id: key.slice(prefixLength), key, tenant: key.slice(0, prefixLength - 1), revision: item.revision }
}

function entryOf(a: ArtifactEntry): ArtifactEntry {
  const e: ArtifactEntry = {
    status: a.status,
    kind: a.kind,
    data: a.data,
    createdBy: a.createdBy,
    createdAt: a.createdAt,
    updatedBy: a.updatedBy,
    updatedAt: a.updatedAt,
    transitions: a.transitions,
  }
  return a.previousStatus === undefined ? e : { ...e, previousStatus: a.previousStatus }
}

function bind(core: Core, actor: string): Workspace {
  const { tenant } = core
  const prefixLength = tenant.length + 1
  const store = () => workspaceStore(core.nc)

  const read = async (s: KvStore, key: string) => {
    const item = await readOne(s, key)
    return { revision: item?.revision ?? 0, artifact: item ? decodeArtifact(item, prefixLength) : undefined }
  }

  const write = async (s: KvStore, key: string, entry: ArtifactEntry, expectRevision: number): Promise<Artifact> => {
    const revision = await writeValue(s, key, JSON.stringify(entry), { expectRevision })
    return { ...entry, id: key.slice(prefixLength), key, tenant, revision }
  }

  /** Read-check-write, retried on conflict unless the caller pinned a revision. */
  const change = async (
    id: string,
    pinned: number | undefined,
    step: (current: Artifact) => ArtifactEntry,
  ): Promise<Artifact> => {
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
        if (!isRevisionConflict(e)) throw e
        if (pinned !== undefined) throw new PheromoneError("conflict", `artifact "${id}" changed after revision ${pinned}`, { cause: e })
      }
    }
    throw new PheromoneError("conflict", `artifact "${id}" kept changing: gave up after ${MAX_ATTEMPTS} attempts`)
  }

  const ws: Workspace = {
    tenant,
    actor,

    withActor(other) {
      return bind(core, emitterValue(other))
    },

    async create(input) {
      if (input === null || typeof input !== "object") throw new PheromoneError("invalid_request", "create takes {id?, kind?, status?, data?}")
      const id = artifactIdValue(input.id ?? `artifacts.${nuid.next()}`)
      const kind = input.kind ?? "artifact"
      if (!isToken(kind)) throw new PheromoneError("invalid_request", `kind ${JSON.stringify(kind)} must be one token`)
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
          if (!isRevisionConflict(e)) throw e
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
        const a = decodeArtifact(item, prefixLength)
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
        const moved = current.status !== to
        return {
          ...entryOf(current),
          status: to,
          data: data === undefined ? current.data : data,
          updatedBy: actor,
          updatedAt: core.now(),
          transitions: moved ? current.transitions + 1 : current.transitions,
          ...(moved ? { previousStatus: current.status } : {}),
        }
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
        if (isRevisionConflict(e)) throw new PheromoneError("conflict", `artifact "${id}" changed while being removed`, { cause: e })
        throw e
      }
    },

    async watchStatus(statuses, handler, options = {}) {
      if (!Array.isArray(statuses) || statuses.length === 0) throw new PheromoneError("invalid_status", "watchStatus needs at least one status")
      if (typeof handler !== "function") throw new PheromoneError("invalid_request", "watchStatus needs a handler function")
      const wanted = new Set(statuses.map(statusValue))
      const claim = options.claim === undefined ? undefined : statusValue(options.claim)
      if (claim !== undefined && wanted.has(claim)) throw new PheromoneError("invalid_status", `claim status "${claim}" must differ from the watched statuses`)
      const kinds = options.kinds === undefined ? undefined : new Set(options.kinds)
      const prefix = options.prefix === undefined ? undefined : artifactIdValue(options.prefix)
      const includeExisting = options.includeExisting !== false
      const releaseDelayMs = options.releaseDelayMs ?? 1000
      const onError = options.onError ?? ((e: unknown) => console.error("[ants] workspace watch:", e))
      const s = await store()
      const seen = new Map<string, number>() // key -> transitions count last seen
      let stopped = false
      let chain: Promise<void> = Promise.resolve()

      const deliver = async (a: Artifact) => {
        if (stopped) return
        if (!claim) return await handler(a)
        let claimed: Artifact
        try {
          claimed = await ws.transition(a.id, { from: a.status, to: claim, revision: a.revision })
        } catch (e) {
          if ((e as { code?: string }).code === "conflict" || (e as { code?: string }).code === "not_found") return // another watcher won
          throw e
        }
        try {
          await handler(claimed)
        } catch (e) {
          onError(e)
          // Release: back to where it came from (unless the handler already moved it on), after
          // a pause, without holding up this watcher's other deliveries.
          const release = () => void ws.transition(a.id, { from: claim, to: a.status }).catch(() => {})
          if (releaseDelayMs <= 0) release()
          else setTimeout(release, releaseDelayMs).unref?.()
        }
      }

      const onItem = (item: KvItem, isNew: boolean) => {
        if (item.operation !== "PUT") {
          seen.delete(item.key)
          return
        }
        const a = decodeArtifact(item, prefixLength)
        if (!a) return
        const before = seen.get(item.key)
        seen.set(item.key, a.transitions)
        if (!wanted.has(a.status) || (kinds && !kinds.has(a.kind))) return
        if (!isNew && !includeExisting) return
        // A data-only write in the same status is not a new arrival.
        if (isNew && before !== undefined && before === a.transitions) return
        chain = chain.then(() => deliver(a)).catch(onError)
      }

      let count = 0
      let initial = Number.POSITIVE_INFINITY
      const early: KvItem[] = []
      const feed = await openKvFeed(core.nc, s, artifactFilter(tenant, prefix), {
        onItem: (item) => {
          if (initial === Number.POSITIVE_INFINITY) early.push(item)
          else onItem(item, ++count > initial)
        },
        onError,
        resume: true,
      })
      initial = feed.initial
      for (const item of early.splice(0)) onItem(item, ++count > initial)

      const w: WorkspaceWatch = {
        async stop() {
          stopped = true
          core.watches.delete(w)
          await feed.close()
          await chain
        },
      }
      core.watches.add(w)
      return w
    },

    async close() {
      await Promise.all([...core.watches].map((w) => w.stop()))
    },
  }
  return ws
}
