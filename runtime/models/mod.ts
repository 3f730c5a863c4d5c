/**
 * The models layer: agents that think. A router over model providers reached through their
 * real SDKs (`openai` Chat Completions, also for OpenAI-compatible servers; `@anthropic-ai/sdk`
 * Messages), or a deterministic offline provider when none is configured; tools declared with
 * Schema (plain functions, other agents, handoffs); durable agent turns journaled step by step,
 * resumable and replayable; conversations with a length policy; cost and budgets.
 *
 * Promises: the router is the only retry loop (SDK retries are off); a rate limit, an overload,
 * a timeout or a malformed answer is an error value the router acts on, never a crash; every
 * model answer and tool result of a turn is recorded before the turn uses it; every answer of
 * the offline provider says so (`offline: true`).
 *
 * May import: `subjects/` (keys, subjects, error codes), `effect`, the two SDKs and the KV types
 * of nats.js, runtime/observability (model and tool spans, usage counters). Not the actor engine: the engine reaches this layer through `createModels` and
 * fills its ports (`AskAgent`, `TurnJournal`, `CostStore`, `StatsSharing`), and hands each
 * actor its `ModelClient` as `ctx.model`.
 */
export { anthropicProvider } from "./anthropic-provider.ts"
export type { AnthropicProviderOptions } from "./anthropic-provider.ts"
export { BREAKER_DEFAULTS, CircuitBreaker, CircuitOpenError, systemClock } from "./circuit-breaker.ts"
export type { CircuitBreakerOptions, CircuitState, Clock } from "./circuit-breaker.ts"
export { Budgets, Deployment, ModelsFile, OFFLINE_DEPLOYMENT, RoutingRule, resolveModels } from "./config.ts"
export type { ModelsConfig, ResolveOptions } from "./config.ts"
export { applyPolicy, DEFAULT_POLICY, transcript } from "./conversation.ts"
export type { ConversationPolicy } from "./conversation.ts"
export { HOLD_TTL_MS, memoryBudgetStore } from "./budget.ts"
export type { BudgetCounter, BudgetScope, BudgetStore, Hold } from "./budget.ts"
export { addSpend, CostLedger, memoryCostStore, NO_SPEND } from "./cost.ts"
export type { CostStore, Spend, SpendReport } from "./cost.ts"
export {
  BudgetExceededError,
  ContextOverflowError,
  ModelConfigError,
  ModelDeniedError,
  ModelUnavailableError,
  ProviderError,
  ToolCallError,
  TurnError,
  TurnHeldError,
  TurnJournalError,
  isModelLayerError,
  modelDirective,
} from "./errors.ts"
export type { ModelLayerError, ProviderErrorKind } from "./errors.ts"
export { memoryTurnJournal, settledMeta } from "./journal.ts"
export type { SummaryStep, TurnJournal, TurnMeta, TurnRecord, TurnStep } from "./journal.ts"
export { kvBudgetStore, kvCostStore, kvStatsSharing, kvTurnJournal } from "./kv-stores.ts"
export { createModels } from "./models.ts"
export { openModels } from "./open-models.ts"
export type { OpenModelsOptions } from "./open-models.ts"
export type { ChatAnswer, ChatOptions, ModelClient, Models, ModelsOptions, PublishPort, StreamSink, TurnOptions } from "./models.ts"
export { estimateTokens, offlineAnswer, offlineProvider } from "./offline-provider.ts"
export { openaiProvider } from "./openai-provider.ts"
export type { OpenAIProviderOptions } from "./openai-provider.ts"
export { readTurnRecord, replayTurn } from "./replay.ts"
export type { Divergence, ReplayReport } from "./replay.ts"
export { Router, costUsd, estimateRequestTokens } from "./router.ts"
export type { Ranked, RouteOptions, RouterOptions } from "./router.ts"
export { score } from "./score.ts"
export type { ScoreInput, ScoreParts } from "./score.ts"
export { classifySdkError, retryAfterMs } from "./sdk-errors.ts"
export { DeploymentStats } from "./stats.ts"
export type { StatsSharing, StatsSnapshot } from "./stats.ts"
export { agentTool, defineTool, handoffTool, HandoffArguments } from "./tools.ts"
export type { AgentName, AskAgent, ModelGate, ModelGateCall, RunTool, Tool, ToolContext, ToolGate, ToolGateCall, ToolGateVerdict, ToolImpact, TurnResume } from "./tools.ts"
export { digestRequest, hashText, journaledSteps, runTurnLoop, structuredOutput } from "./turn.ts"
export type { TurnResult, TurnSpec, TurnSteps } from "./turn.ts"
export type { ChatMessage, FinishReason, ModelAnswer, ModelRequest, Provider, ProviderAnswer, ProviderCallOptions, StreamDelta, ToolCall, ToolSpec, Usage } from "./types.ts"
