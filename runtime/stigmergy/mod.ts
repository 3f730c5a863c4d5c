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
export { createPheromones, DEFAULT_CACHE_SIZE, DEFAULT_EMITTER, MAX_CAS_ATTEMPTS, stopAllWatches } from "./pheromones.ts"
export type { DetectQuery, PheromoneDeposit, PheromoneGuarantees, Pheromones, PheromonesOptions, PheromoneWrite, TrailRef, WatchFilter } from "./pheromones.ts"
export type { Evaporation, PheromoneHandlers, Trail } from "./trail.ts"
export { DEFAULT_SWEEP_INTERVAL_MS } from "./watcher.ts"
export { pheromoneStore, workspaceStore } from "./kv-store.ts"
export type { PheromoneWatch } from "./watcher.ts"
export { createWorkspace, DEFAULT_LEASE_MS, DEFAULT_RELEASE_DELAY_MS, stopAllWorkspaceWatches, watchStatusAllTenants } from "./workspace.ts"
export type { AllTenantsWatchOptions, Artifact, CreateArtifact, StatusWatchOptions, TransitionInput, Workspace, WorkspaceOptions, WorkspaceWatch } from "./workspace.ts"
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
} from "./swarm-rules.ts"
export type { FollowOptions, SuccessInput } from "./swarm-rules.ts"
export { currentStrength } from "./pheromone-rules.ts"
export { PheromoneError, isPheromoneError } from "../../subjects/pheromones.ts"
export type { PheromoneErrorCode, PheromoneType, StrengthLevel, DecayCurve, ArtifactStatus } from "../../subjects/pheromones.ts"
