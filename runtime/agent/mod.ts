/**
 * Layer `agent`: the author API. What an agent author writes against: `defineAgent`, protocols
 * built from `Schema` values, the handler context (`ActorContext`) and the options of task
 * handlers. Definitions are plain data checked once, when defined.
 *
 * Promises: a definition that `defineAgent` accepts can be hosted by any node; a bad one fails
 * at definition time with `AgentDefinitionError` or `ProtocolError`, naming the field.
 * Conversational agents (`defineConversationalAgent`) and the tools a model may call
 * (`defineTool`, `agentTool`, `handoffTool`) are part of it: an author declares them here, the
 * models layer runs them.
 * May import: subjects/, supervisors/ (policy types), runtime/stigmergy and runtime/memory (types an actor sees),
 * runtime/models (tools, the model client's types), runtime/limits (bounded decoding), runtime/cpu
 * (the offload spec type), runtime/sandbox (the sandbox an actor sees; sandboxed agent types).
 * Never imports: the engine (runtime/actor), runtime/client, runtime/cluster, runtime/tasks,
 * runtime/node, runtime/cli.
 */
export { AgentDefinitionError, Empty, capabilityEntries, defineAgent, isAgentDefinition } from "./define-agent.ts"
export { oldestMigratable, typeVersion, versioningProblem, type StateMigration, type VersionOptions } from "./versioning.ts"
export type {
  AgentDefinition,
  AgentOptions,
  WarmPoolSpec,
  AgentSpec,
  Capabilities,
  CapabilitySpec,
  CheckpointPolicy,
  CronWindow,
  Handler,
  Handlers,
  Interest,
  Schedule,
  TaskHandlerFn,
  Tier,
  TopicBinding,
} from "./define-agent.ts"
export { ProtocolError, defineProtocol, parseIssues } from "./protocol.ts"
export type { CompiledTag, MessageInput, MessageOf, MessageSpec, Protocol, ProtocolSpec, ReplyOf } from "./protocol.ts"
export type {
  ActorContext,
  ActorRef,
  AgentRef,
  AskOptions,
  DurableTellOptions,
  DurableTellResult,
  Logging,
  Messaging,
  Sandboxing,
  Stigmergic,
  Thinking,
  Target,
  TopicPublishing,
} from "./actor-context.ts"
export { DEFAULT_ACK_WAIT_MS, DEFAULT_BACKOFF, DEFAULT_CONCURRENCY, DEFAULT_MAX_ATTEMPTS } from "./task-options.ts"
export type { AgentTaskContext, ServeOptions, TaskContext, TaskHandler, WorkerConfig, WorkerEvent, WorkerHandle, WorkerStats } from "./task-options.ts"
export { TURN_SPEC_EXTENSION, conversationalProtocol, defineConversationalAgent, modelOf } from "./conversational-agent.ts"
export type { ConversationState, ConversationalSpec } from "./conversational-agent.ts"
export { agentTool, defineTool, handoffTool } from "../models/mod.ts"
export { defineSandboxedAgent, sandboxedDecider } from "./sandboxed-agent.ts"
export type { SandboxedAgentSpec, SandboxedExtension } from "./sandboxed-agent.ts"
