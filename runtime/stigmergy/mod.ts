/**
 * Layer `stigmergy`: pheromones and the workspace in JetStream KV. Deposit, reinforce, detect
 * and watch pheromones whose strength fades over time; artifacts with statuses, claims and
 * leases; evaporation; the swarm rules built on them (follow the strongest trail, avoid danger).
 *
 * Promises: a pheromone's strength is a pure function of its deposits and the time (one decay
 * rule), whichever node reads it; concurrent writers never lose a deposit (CAS with retries);
 * a bad input is a `PheromoneError` with a code and nothing is written.
 * May import: subjects/, runtime/server (server features).
 */
export {
  createPheromones,
  DEFAULT_CACHE_SIZE,
  DEFAULT_EMITTER,
  MAX_CAS_ATTEMPTS,
  stopAllWatches,
  type DetectQuery,
  type PheromoneDeposit,
  type PheromoneGuarantees,
  type Pheromones,
  type PheromonesOptions,
  type PheromoneWrite,
  type TrailRef,
  type WatchFilter,
} from "./pheromones.ts"
export type { Evaporation, PheromoneHandlers, Trail } from "./trail.ts"
export { DEFAULT_SWEEP_INTERVAL_MS, type PheromoneWatch } from "./watcher.ts"
export { pheromoneStore, workspaceStore } from "./kv-store.ts"
export {
  createWorkspace,
  DEFAULT_LEASE_MS,
  DEFAULT_RELEASE_DELAY_MS,
  stopAllWorkspaceWatches,
  watchStatusAllTenants,
  type AllTenantsWatchOptions,
  type Artifact,
  type CreateArtifact,
  type StatusWatchOptions,
  type TransitionInput,
  type Workspace,
  type WorkspaceOptions,
  type WorkspaceWatch,
} from "./workspace.ts"
export {
  chooseStrongest,
  depositSuccess,
  findOverloaded,
  followStrongest,
  isDangerous,
  matchesCapabilities,
  patternId,
  requiredCapabilities,
  safeLocations,
  strongestPatterns,
  type FollowOptions,
  type SuccessInput,
} from "./swarm-rules.ts"
export { currentStrength } from "./pheromone-rules.ts"
export {
  PheromoneError,
  isPheromoneError,
  type PheromoneErrorCode,
  type PheromoneType,
  type StrengthLevel,
  type DecayCurve,
  type ArtifactStatus,
} from "../../subjects/pheromones.ts"
