/**
 * ANTS public API. Agent authors need `defineAgent` (and Schema from `effect`); operators need
 * `startNode`; callers need `connectClient` (or any NATS client and the subject grammar).
 */
export { defineAgent, Empty, isAgentDefinition, AgentDefinitionError } from "./agent/define-agent.ts"
export type { AgentDefinition, AgentOptions, AgentSpec, Capabilities, CapabilitySpec, CheckpointPolicy, Handler, Handlers, TaskHandlerFn, Tier, TopicBinding } from "./agent/define-agent.ts"
export { defineProtocol, ProtocolError } from "./agent/protocol.ts"
export type { MessageInput, MessageOf, MessageSpec, Protocol, ProtocolSpec, ReplyOf } from "./agent/protocol.ts"
export type { ActorContext, ActorRef, AskOptions, Messaging, Target } from "./agent/actor-context.ts"
export { AskError, isAskError, createMessaging, publishTopic, DEFAULT_ASK_TIMEOUT_MS } from "./client/messaging.ts"
export { connectClient } from "./client/connect-client.ts"
export type { AntsClient, ConnectClientOptions } from "./client/connect-client.ts"
export { startNode, connectNats, NODE_DEFAULTS, defaultLogger } from "./node/node.ts"
export type { AntsNode, NodeOptions, NodeStats, Logger, LogLevel, RejectedRecord } from "./node/node.ts"
export { startNatsServer, startNatsCluster, NatsServerError, findNatsServer } from "./server/nats-server.ts"
export type { NatsServer, NatsCluster, NatsServerOptions } from "./server/nats-server.ts"
export { StateFencedError } from "./actor/state-store.ts"
export {
  createPheromones,
  createWorkspace,
  depositSuccess,
  findOverloaded,
  followStrongest,
  isPheromoneError,
  PheromoneError,
  safeLocations,
  strongestPatterns,
} from "./stigmergy/mod.ts"
export type { Artifact, Evaporation, Pheromones, PheromoneWatch, Trail, Workspace, WorkspaceWatch } from "./stigmergy/mod.ts"
export { ArtifactDelivery } from "./actor/artifact-delivery.ts"
export type { Interest } from "./actor/artifact-delivery.ts"
export { CLUSTER_DEFAULTS, LeaseHeldError, isLeaseHeldError, clusterGuarantees, listActors, listNodes, partitionOf } from "./cluster/mod.ts"
export type { ActorInfo, ClusterOptions, ClusterView, DurableTellResult, Guarantees, NodeMembersInfo } from "./cluster/mod.ts"
export type { DurableTellOptions } from "./agent/actor-context.ts"
export {
  BID_WEIGHTS,
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_BACKOFF,
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TASK_TTL_MS,
  NoBidderError,
  TaskEngineError,
  TaskRejected,
  bidScore,
  createMarketplace,
  deadLetters,
  getTaskStatus,
  noSignals,
  pheromoneSignals,
  requestTaskStatus,
  serveCapability,
  startTaskEngine,
  submitTask,
  taskPheromoneStrength,
  validateTask,
} from "./tasks/mod.ts"
export type {
  BidderHandle,
  BidderSpec,
  DeadLetters,
  Marketplace,
  MarketplaceOptions,
  MarketTaskContext,
  ServeOptions,
  SubmitOptions,
  SubmitResult,
  TaskContext,
  TaskEngine,
  TaskEngineOptions,
  TaskHandler,
  TaskInput,
  TaskSignals,
  WorkerEvent,
  WorkerHandle,
} from "./tasks/mod.ts"
export type { NodeTaskOptions } from "./tasks/node-tasks.ts"
export type { DeadLetter, DeadLetterReason, Priority, TaskRecord, TaskState } from "../subjects/tasks.ts"
