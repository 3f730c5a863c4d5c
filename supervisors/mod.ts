/**
 * Supervision: specs as data, strategies and decisions as pure functions, and
 * a transport-agnostic tree driver the runtime wires to NATS.
 */
export {
  CHILD_KINDS,
  DEFAULT_BACKOFF,
  DEFAULT_KIND,
  DEFAULT_RESTART,
  DEFAULT_SUPERVISOR,
  DEFAULT_TYPE_POLICY,
  DEFAULT_WORKER_SHUTDOWN_MS,
  RESTART_TYPES,
  STRATEGIES,
  SupervisorSpecError,
  defineBackoff,
  defineSupervisor,
  defineTypePolicy,
  isDirective,
} from "./spec.ts"
export type {
  Backoff,
  BackoffInput,
  ChildKind,
  ChildSpec,
  ChildSpecInput,
  Decider,
  Directive,
  RestartType,
  Shutdown,
  Strategy,
  SupervisorSpec,
  SupervisorSpecInput,
  TypePolicy,
  TypePolicyInput,
  WorkerActor,
} from "./spec.ts"
export { describeError, describeReason, isAbnormal, shouldRestart } from "./exit-reason.ts"
export type { ExitReason } from "./exit-reason.ts"
export { EMPTY_WINDOW, prune, recordRestart, restartsWithin } from "./restart-window.ts"
export type { RestartWindow, WindowResult } from "./restart-window.ts"
export { backoffCap, backoffDelay } from "./backoff.ts"
export { planGroup } from "./restart-plan.ts"
export type { ChildState, ChildStatus, RestartPlan, RestartStrategy } from "./restart-plan.ts"
export { oneForOne } from "./strategy-one-for-one.ts"
export { oneForAll } from "./strategy-one-for-all.ts"
export { restForOne } from "./strategy-rest-for-one.ts"
export { strategyFor } from "./strategy.ts"
export { decide, initialState } from "./decide.ts"
export type { ChildExit, DecideResult, Decision, SupervisorState } from "./decide.ts"
export { decideActor } from "./type-supervisor.ts"
export type { ActorDecideResult, ActorDecision, ActorDirective, ActorFailureInput } from "./type-supervisor.ts"
export { SupervisionTree, SupervisorGaveUpError } from "./tree.ts"
export type {
  ActorFailureResult,
  ChildInfo,
  ChildPath,
  DecisionTarget,
  SupervisionCallbacks,
  SupervisionTreeOptions,
  SupervisorSnapshot,
  TreeDecision,
  TypeStatus,
} from "./tree.ts"
export { DEFAULT_TYPE_RESTART, defaultNodeTree, placedTypes, workerActors } from "./default-node-tree.ts"
export type { NodeTreeOverrides } from "./default-node-tree.ts"
export { TREE_EVENT_TYPE, TYPE_EVENT_ID, eventAddress } from "./event-address.ts"
export type { EventAddress } from "./event-address.ts"
export { actorSupervisor } from "./actor-supervisor.ts"
export type { ActorAddressLike, ActorSupervisor, ActorVerdict } from "./actor-supervisor.ts"
