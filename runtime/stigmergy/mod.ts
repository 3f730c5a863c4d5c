/** Pheromones and the stigmergy workspace (DESIGN.md §5). Wire contract: subjects/pheromones.ts. */
export { createPheromones, DEFAULT_CACHE_SIZE, DEFAULT_EMITTER, MAX_CAS_ATTEMPTS, stopAllWatches } from "./pheromones.ts"
export type { DetectQuery, PheromoneDeposit, PheromoneGuarantees, Pheromones, PheromonesOptions, PheromoneWrite, TrailRef, WatchFilter } from "./pheromones.ts"
export type { Evaporation, PheromoneHandlers, Trail } from "./trail.ts"
export { DEFAULT_SWEEP_INTERVAL_MS } from "./watcher.ts"
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
export { serverFeatures, versionAtLeast } from "../server/server-features.ts"
export type { PheromoneServerFeatures } from "../server/server-features.ts"
export { PheromoneError, isPheromoneError } from "../../subjects/pheromones.ts"
export type { PheromoneErrorCode, PheromoneType, StrengthLevel, DecayCurve, ArtifactStatus } from "../../subjects/pheromones.ts"
