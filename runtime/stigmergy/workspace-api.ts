/**
 * What `createWorkspace` offers: the `Workspace` interface, its options, artifacts as handlers
 * see them, status watches and their defaults (runtime/stigmergy/workspace.ts implements it).
 */
import { MAX_ARTIFACT_BYTES, type ArtifactEntry, type ArtifactStatus } from "../../subjects/pheromones.ts"

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

/** Default lease of a claim (the handler's time budget). */
export const DEFAULT_LEASE_MS = 60_000
/** Default pause before a failed handler's claim is released. */
export const DEFAULT_RELEASE_DELAY_MS = 1000

export interface StatusWatchOptions {
  /** Only artifacts under this path prefix. */
  readonly prefix?: string
  /** Only artifacts of these kinds. */
  readonly kinds?: ReadonlyArray<string>
  /** Claim each delivery by moving it to this status first (queue semantics, see above). */
  readonly claim?: ArtifactStatus
  /** With `claim`: how long a claim is held before another watcher may take the work back (default 60000 ms). */
  readonly leaseMs?: number
  /** With `claim`: how often stale claims are looked for (default leaseMs / 4, between 50 and 1000 ms). */
  readonly reapIntervalMs?: number
  /**
   * With `claim`: how long after a failed handler the claim is released, so a failing artifact
   * is retried at this pace rather than in a hot loop (default 1000 ms).
   */
  readonly releaseDelayMs?: number
  /** With `claim`: false for a handler error that should leave the claim to its lease (default: release on every error). */
  readonly releaseOnError?: (err: unknown) => boolean
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
  /** Replicas of the `ants_workspace` bucket if this connection creates it (default 1). */
  readonly replicas?: number
  /** Watches of this instance stop when the signal aborts. */
  readonly signal?: AbortSignal
}

export interface Workspace {
  readonly tenant: string
  readonly actor: string
  /** The same tenant's workspace signed by another actor, with its own watches. */
  withActor(actor: string, options?: { readonly signal?: AbortSignal }): Workspace
  /** Creates an artifact; `conflict` when the id is taken. */
  create(input: CreateArtifact): Promise<Artifact>
  get(id: string): Promise<Artifact | undefined>
  /** Artifacts of the tenant (under `prefix`), optionally only in some statuses. One prefix read. */
  list(query?: { prefix?: string; statuses?: ReadonlyArray<ArtifactStatus> }): Promise<Artifact[]>
  /** Revision-checked status change (and optional data change). Moving out of a claim status ends the claim. */
  transition(id: string, input: TransitionInput): Promise<Artifact>
  /** Revision-checked data change that keeps the status (not a delivery to watchers). */
  update(id: string, input: { data: unknown; revision?: number }): Promise<Artifact>
  /** Deletes an artifact; false when there was none. */
  remove(id: string, revision?: number): Promise<boolean>
  watchStatus(statuses: ReadonlyArray<ArtifactStatus>, handler: (artifact: Artifact) => void | Promise<void>, options?: StatusWatchOptions): Promise<WorkspaceWatch>
  /** Stops the watches started through this view (not those of other views). */
  close(): Promise<void>
}

/** Claim operations a status watch needs, bound to one tenant and actor. */
export interface Claims {
  readonly actor: string
  claim(a: Artifact, to: string, leaseMs: number): Promise<Artifact>
  /** Moves a claim back to `to` if it is still the claim `held` stamped. */
  release(held: Artifact, to: string): Promise<Artifact>
  /** Moves a stale claim (seen at `seen.revision`) back to `to`. */
  reap(seen: Artifact, to: string): Promise<Artifact>
}
