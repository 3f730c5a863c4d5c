/**
 * Layer `actor`: the actor engine. One activation per actor (a cell with its bounded mailbox),
 * the host that keeps one agent type's cells, one message's turn in its handler, the state store
 * (checkpoints in KV, fenced on take-over), lifecycle policy (tiers, warm pools, business
 * hours), passivation, schedules, the handler context and artifact delivery to declared
 * interests. `localActors` is the engine's side of the cluster's port (the node wires the two).
 *
 * Promises: a message handed to a host reaches its handler once, in arrival order per actor,
 * and is answered exactly once (ok, or an error envelope); a throwing handler never takes the
 * node down; state survives passivation and restarts as the type's checkpoint policy says.
 * May import: subjects/, supervisors/, runtime/agent, runtime/client, runtime/stigmergy,
 * runtime/memory, runtime/limits, runtime/cpu, runtime/observability (turn and checkpoint spans).
 * Never imports: runtime/cluster, runtime/tasks, runtime/node, runtime/cli.
 */
export { ActorCell, type CellHost, type CellStatus } from "./cell.ts"
export { localActors } from "./local-actors.ts"
export { type Envelope, Mailbox } from "./mailbox.ts"
export { TypeHost } from "./type-host.ts"
export type { HostNode } from "./host-node.ts"
export type { TypeStats } from "./type-stats.ts"
export type { ActivationGuard } from "./activation-guard.ts"
export { makeActorContext } from "./context.ts"
export {
  StateFencedError,
  openStateStore,
  type Accounting,
  type Checkpoint,
  type StateStore,
} from "./state-store.ts"
export { CheckpointGaveUpError, FINAL_CHECKPOINT, finalCheckpoint } from "./final-checkpoint.ts"
export {
  idsToKeepAwake,
  idsToWakeAtStart,
  insideWindow,
  mayPassivate,
  nextOpening,
  warmPoolIds,
} from "./lifecycle-policy.ts"
export { WakeHints } from "./wake-hints.ts"
export { TURN_BUDGET_MS } from "./turn-budget.ts"
export { MAX_MISSED, firingsBetween, nextFiring, startSchedules, systemClock, type Clock, type FiringOutcome, type ScheduleRunner } from "./schedules.ts"
export { StateMigrationError, StateVersionError, migrateOnActivation, runMigrations, type Migrated } from "./state-migration.ts"
export type { ActorVerdict, Supervisor } from "./supervision.ts"
export {
  ArtifactDelivery,
  createStigmergy,
  type Stigmergy,
  type StigmergyOptions,
} from "./artifact-delivery.ts"
