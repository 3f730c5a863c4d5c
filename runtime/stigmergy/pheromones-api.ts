/**
 * What `createPheromones` offers: the `Pheromones` interface, its options and the shapes of
 * its queries and results (runtime/stigmergy/pheromones.ts implements it).
 */
import type { PheromoneType, StrengthLevel } from "../../subjects/pheromones.ts"
import type { DepositInput, ReinforceInput } from "./pheromone-rules.ts"
import type { PheromoneHandlers, Trail } from "./trail.ts"
import type { PheromoneWatch } from "./watcher.ts"

/** A trail named by its key (`<tenant>.<location...>.<id>`) or by location and id. */
export type TrailRef = string | { readonly location: string; readonly id: string }

export interface PheromoneDeposit extends DepositInput {
  /**
   * What to do when a trail with this `id` already exists: `replace` it (default) or
   * `reinforce` it (adding this deposit's strength; a fresh trail is created if it is gone).
   */
  readonly onExisting?: "replace" | "reinforce"
}

export interface DetectQuery {
  /** Only these types (default all). */
  readonly types?: ReadonlyArray<PheromoneType | string>
  /** Location prefix: trails at this location or below it. Default: the whole tenant. */
  readonly location?: string
  /** Only trails exactly at `location`, not below it. */
  readonly exact?: boolean
  /** Minimum current strength, a number in [0, 1] or a level name. Default 0: every live trail (above 0). */
  readonly minStrength?: number | StrengthLevel
  /** At most this many results (the strongest). Default: all. */
  readonly limit?: number
}

export interface WatchFilter {
  readonly types?: ReadonlyArray<PheromoneType | string>
  /** Location prefix (default: the whole tenant). */
  readonly location?: string
  readonly exact?: boolean
  /** Delete trails whose TTL ran out so watchers hear `evaporated` (default true). */
  readonly sweep?: boolean
  /** Reports handler errors; default: console.error. */
  readonly onError?: (err: unknown) => void
}

export interface PheromonesOptions {
  /** Default `default`. */
  readonly tenant?: string
  /** Who signs deposits (usually `<tenant>/<type>/<id>` of an actor). Default `anonymous`. */
  readonly emitter?: string
  /** Sweep period of watches (default 500 ms): the bound on how late `evaporated` may be. */
  readonly sweepIntervalMs?: number
  /** How many keys' last revisions to remember for single-round-trip reinforcement (default 10,000). */
  readonly cacheSize?: number
  /** The clock (epoch ms); default Date.now. */
  readonly now?: () => number
  /** Replicas of the `ants_pheromones` bucket if this connection creates it (default 1; a node passes its own). */
  readonly replicas?: number
  /** Watches of this instance stop when the signal aborts (and new ones stop at once). */
  readonly signal?: AbortSignal
  /**
   * Called after every successful write (for audit receipts of pheromone emissions). Runs
   * synchronously on the writer's path: keep it cheap (e.g. a core NATS publish); errors are ignored.
   */
  readonly onWrite?: (write: PheromoneWrite) => void
}

export type PheromoneWrite =
  | { readonly op: "deposit" | "reinforce"; readonly emitter: string; readonly trail: Trail }
  | { readonly op: "evaporate"; readonly emitter: string; readonly key: string; readonly type: PheromoneType }

export interface PheromoneGuarantees {
  readonly serverVersion: string
  /** True on 2.11+ with a bucket that allows per-message TTL: the server removes each trail at its TTL. */
  readonly serverTtl: boolean
  /** One line for start-up logs. */
  readonly summary: string
}

export interface Pheromones {
  readonly tenant: string
  readonly emitter: string
  /**
   * The same tenant's API signed by another emitter; shares bucket and cache, has its own
   * watches (stopped by its `close()` or when `options.signal` aborts).
   */
  withEmitter(emitter: string, options?: { readonly signal?: AbortSignal }): Pheromones
  /** Opens the bucket (done lazily by every call); tells which expiry path is in force. */
  ready(): Promise<PheromoneGuarantees>
  deposit(input: PheromoneDeposit): Promise<Trail>
  reinforce(target: TrailRef, input?: ReinforceInput): Promise<Trail>
  /** One live trail, or undefined when it does not exist or has evaporated. */
  get(target: TrailRef): Promise<Trail | undefined>
  detect(query?: DetectQuery): Promise<Trail[]>
  watch(handlers: PheromoneHandlers, filter?: WatchFilter): Promise<PheromoneWatch>
  /** A watch without handlers: keeps expired trails of (part of) the tenant swept. */
  startSweeper(filter?: Omit<WatchFilter, "types" | "sweep">): Promise<PheromoneWatch>
  /** Removes a trail now; false when there was none. Watchers hear `evaporated`. */
  evaporate(target: TrailRef): Promise<boolean>
  /** Stops the watches and sweepers started through this view (not those of other views). */
  close(): Promise<void>
}
