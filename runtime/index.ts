/**
 * ANTS public API. Agent authors need `defineAgent` (and Schema from `effect`); operators need
 * `startNode`; callers need `connectClient` (or any NATS client and the subject grammar).
 * Every name is listed, and each comes from a layer's `mod.ts`: this file adds nothing of its own.
 * The README documents each name exported here (checked by test/layout/readme-api.test.ts).
 */
export { defineAgent, Empty, isAgentDefinition, AgentDefinitionError } from "./agent/mod.ts"
export type { AgentDefinition, AgentOptions, AgentTaskContext, AgentSpec, Capabilities, CapabilitySpec, CheckpointPolicy, Handler, Handlers, TaskHandlerFn, Tier, TopicBinding } from "./agent/mod.ts"
export { defineProtocol, ProtocolError } from "./agent/mod.ts"
export type { MessageInput, MessageOf, MessageSpec, Protocol, ProtocolSpec, ReplyOf } from "./agent/mod.ts"
export type { ActorContext, ActorRef, AskOptions, Messaging, Target } from "./agent/mod.ts"
export { AskError, isAskError, createMessaging, publishTopic, DEFAULT_ASK_TIMEOUT_MS } from "./client/mod.ts"
export { connectClient } from "./client/mod.ts"
export type { AntsClient, ConnectClientOptions } from "./client/mod.ts"
export { startNode, NODE_DEFAULTS, defaultLogger } from "./node/mod.ts"
export { connectNats } from "./client/mod.ts"
export type { AntsNode, NodeOptions, NodeStats, Logger, LogLevel, RejectedRecord } from "./node/mod.ts"
export { startNatsServer, startNatsCluster, NatsServerError, findNatsServer } from "./server/mod.ts"
export type { NatsServer, NatsCluster, NatsServerOptions } from "./server/mod.ts"
export { StateFencedError } from "./actor/mod.ts"
export {
  createPheromones,
  currentStrength,
  createWorkspace,
  depositSuccess,
  findOverloaded,
  followStrongest,
  isPheromoneError,
  PheromoneError,
  safeLocations,
  strongestPatterns,
  watchStatusAllTenants,
} from "./stigmergy/mod.ts"
export type { Artifact, Evaporation, Pheromones, PheromoneWatch, Trail, Workspace, WorkspaceWatch } from "./stigmergy/mod.ts"
export { ArtifactDelivery } from "./actor/mod.ts"
export type { Interest } from "./agent/mod.ts"
export { CLUSTER_DEFAULTS, LeaseHeldError, isLeaseHeldError, clusterGuarantees, listActors, listNodes, partitionOf } from "./cluster/mod.ts"
export type { ActorInfo, ClusterOptions, ClusterView, DurableTellResult, Guarantees, NodeMembersInfo } from "./cluster/mod.ts"
export type { DurableTellOptions } from "./agent/mod.ts"
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
  bidDelayMs,
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
export type { NodeTaskOptions } from "./tasks/mod.ts"
export {
  bestProcedures,
  createBandit,
  createEmbeddingClient,
  epsilonGreedy,
  isMemoryError,
  lexicalEmbedder,
  memoryOnDemand,
  MemoryError,
  openaiEmbedder,
  openMemory,
  recordProcedure,
  REWARD,
  startEmbeddedPostgres,
} from "./memory/mod.ts"
export type {
  Bandit,
  EmbeddingClient,
  EmbeddingProvider,
  ForgetSelector,
  Memory,
  MemoryItem,
  MemoryKind,
  MemoryOptions,
  MemoryOwner,
  MemoryScope,
  MemoryStats,
  NodeMemory,
  Procedure,
  RecalledItem,
  RecallQuery,
  RememberInput,
  ScopedMemory,
} from "./memory/mod.ts"
export type { DeadLetter, DeadLetterReason, Priority, TaskRecord, TaskState } from "../subjects/tasks.ts"
export { defineConversationalAgent, defineTool, agentTool, handoffTool } from "./agent/mod.ts"
export type { ConversationalSpec, ConversationState, Thinking } from "./agent/mod.ts"
export {
  BudgetExceededError,
  CircuitBreaker,
  ContextOverflowError,
  ModelDeniedError,
  ModelUnavailableError,
  ProviderError,
  Router,
  ToolCallError,
  TurnError,
  TurnHeldError,
  TurnJournalError,
  anthropicProvider,
  applyPolicy,
  createModels,
  isModelLayerError,
  kvTurnJournal,
  memoryTurnJournal,
  offlineProvider,
  openModels,
  openaiProvider,
  readTurnRecord,
  replayTurn,
  resolveModels,
} from "./models/mod.ts"
export type {
  ChatAnswer,
  ChatMessage,
  ChatOptions,
  ConversationPolicy,
  Divergence,
  ModelAnswer,
  ModelClient,
  Models,
  ModelsFile,
  Provider,
  ReplayReport,
  StreamDelta,
  Tool,
  ToolCall,
  ToolContext,
  TurnRecord,
  TurnResult,
  TurnSpec,
} from "./models/mod.ts"
export type { ModelGate, ToolGate } from "./models/mod.ts"
export type { NodeModelsOptions } from "./node/mod.ts"

// ── sandbox (runtime/sandbox) ──
export { SANDBOX_DEFAULTS, SANDBOX_ERROR_CODES, SANDBOX_LEVELS, SANDBOX_LIMIT_CEILINGS, SandboxError, createSandbox, isSandboxError, isSandboxLevel } from "./sandbox/mod.ts"
export type { LevelSpec, Sandbox, SandboxErrorCode, SandboxGlobal, SandboxLevel, SandboxLimits, SandboxOptions, SandboxRun, SandboxStats, TenantSandbox, TenantSandboxRun } from "./sandbox/mod.ts"
export { defineSandboxedAgent, sandboxedDecider } from "./agent/mod.ts"
export type { SandboxedAgentSpec, SandboxedExtension, Sandboxing } from "./agent/mod.ts"

// ── tools (runtime/tools) ──
export { PROMOTION, TOOL_LEVELS, ToolError, createToolRegistry, isToolError, openToolStore, serveTools, startTools, toolsClient } from "./tools/mod.ts"
export type { RegisterInput, ToolHead, ToolInfo, ToolLevel, ToolRegistry, ToolRunResult, ToolSandbox, ToolService, ToolServiceOptions, ToolStats, ToolStatus, ToolStore, ToolsClient } from "./tools/mod.ts"
export { antsMcpServer, jsonTool, loadOpenApi, mcpTools, openApiOperations, openApiTools, registerMcpServer, registerOpenApi, registryTool, registryTools, serveMcpHttp, serveMcpStdio, toolNameOf } from "./tools/mod.ts"
export type { McpHttpOptions, McpHttpServer, McpServeOptions, McpServerConfig, McpToolset, McpToolsOptions, OpenApiCredentials, OpenApiOptions } from "./tools/mod.ts"

// ── governance (runtime/governance) ──
export { approvalFeedback, approvalIdOf, approvalTriggers, createApprovals, createAuditLog, createModelGate, createToolGate, evaluatePolicy, GovernanceError, parseRules, readAuditStream, readPolicy, serveApprovals, startGovernance, verifyAudit, verifyChain, writePolicy } from "./governance/mod.ts"
export type { ApprovalRecord, Approvals, AuditLog, Governance, GovernanceOptions, PolicyRule, RecordReceipt, StoredMessage, VerifyReport } from "./governance/mod.ts"

// ── coordination (runtime/coordination) ──
export {
  ConsensusOutcome,
  ConsensusRun,
  CoordinationError,
  DEFAULT_K_BY_SEVERITY,
  DEFAULT_MIN_CONFIDENCE,
  DEFAULT_THRESHOLD,
  RecruitReply,
  RecruitRequest,
  RecruiterStatus,
  VoteReply,
  VoteRequest,
  consensusAgent,
  defineRecruiter,
  defineSaga,
  escalateToApprovals,
  fanOut,
  fanOutAsks,
  fanOutTasks,
  getConsensusRound,
  getIncident,
  handOff,
  kForSeverity,
  refine,
  refineWithAgents,
  resolveIncident,
  runConsensus,
  sagaRunner,
  shareFinding,
  startCollectiveResponse,
  tally,
} from "./coordination/mod.ts"
export type {
  Agreement,
  ApprovalQueue,
  BranchResult,
  CollectiveResponse,
  CollectiveResponseSpec,
  ConsensusDeps,
  ConsensusResult,
  ConsensusSpec,
  EscalatePort,
  EscalationRequest,
  FanIn,
  Finding,
  HandOffStage,
  Incident,
  Participant,
  RecordPort,
  Refined,
  SagaDefinition,
  SagaJournal,
  SagaOutcome,
  SagaRunner,
  SagaStep,
  SagaStepContext,
  SeverityBand,
  Tally,
  VoteRecord,
  Voters,
} from "./coordination/mod.ts"

// ── observability (runtime/observability) ──
export { TracingConfigError, countSandboxRun, startTracing } from "./observability/mod.ts"
export type { SandboxOutcome, Tracing, TracingOptions } from "./observability/mod.ts"
export { HttpListenerError } from "./node/http-listener.ts"
export type { HttpHandler, HttpListener, NodeHttpOptions } from "./node/http-listener.ts"

// ── gateway (runtime/gateway) ──
export { GATEWAY_DEFAULTS, GatewayConfigError, GatewayError, STATUS_OF_CODE, createGateway, openApiDocument, readTokensFile, typeSchemas } from "./gateway/mod.ts"
export type { Gateway, GatewayListener, GatewayOptions, GatewayPrincipal, TypeEntry, TypeSchemas } from "./gateway/mod.ts"

// ── elastic (runtime/elastic) ──
// F1: pools that scale, load pheromones and recruitment, resource pools
export {
  ELASTIC_DEFAULTS,
  LOAD_DEFAULTS,
  POOL_DEFAULTS,
  PoolSpecError,
  RECRUIT_DEFAULTS,
  RESOURCE_POOL_DEFAULTS,
  ResourcePoolBusyError,
  capabilityBacklogs,
  capabilityLoads,
  capabilityLoadsFrom,
  decideRecruitment,
  openResourcePools,
  poolSpecOf,
  startLoadReporter,
  startRecruiter,
  typeLoads,
} from "./elastic/mod.ts"
export type {
  AcquireOptions,
  ElasticOptions,
  ElasticRecord,
  LoadReporter,
  LoadSample,
  PoolSpec,
  PoolStatus,
  Recruit,
  Recruiter,
  RecruiterOptions,
  ResourcePoolDecl,
  ResourcePools,
  ResourceSlot,
  ScaleEvent,
} from "./elastic/mod.ts"
export type { WarmPoolSpec } from "./agent/mod.ts"
export { POOL_ID, poolSubject } from "../subjects/elastic.ts"
// F2: versioned agent types (the engine migrates state on activation), wakes, schedules' clock, lasting costs
export { MAX_MISSED, StateMigrationError, StateVersionError } from "./actor/mod.ts"
export type { Clock } from "./actor/mod.ts"
export type { StateMigration, VersionOptions } from "./agent/mod.ts"
export { flushLifecycleCosts, readLifecycleCosts } from "./elastic/mod.ts"
export type { LifecycleCost, LifecycleCostReport } from "./elastic/mod.ts"
export { wakeTypeSubject } from "../subjects/wake.ts"
export type { MissedFiringPolicy, WakeRequest, WakeTypeReply, WakeTypeRequest } from "../subjects/wake.ts"
