/**
 * Layer `tasks`: durable tasks on JetStream. Submit with priority and deadline, capability lanes
 * and their workers, sessions (one task at a time per key), schedules, dead letters, status,
 * and the marketplace (bids scored from load and pheromone signals).
 *
 * Promises: a submitted task is handled at least once or dead-lettered with its reason; a task
 * is never lost when a worker dies (its claim lapses and another worker takes it).
 * May import: subjects/, runtime/agent (task handler types), runtime/stigmergy (signals),
 * runtime/server (`ensureStream`), runtime/limits (safe JSON), runtime/client (the reply inbox
 * its acknowledged publishes share with asks), runtime/observability (submit and attempt spans).
 */
export { startTaskEngine } from "./engine.ts"
export type { TaskEngine, TaskEngineOptions } from "./engine.ts"
export { submitTask, validateTask } from "./submit.ts"
export type { SubmitOptions, SubmitResult, TaskInput } from "./submit.ts"
export {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_BACKOFF,
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_ATTEMPTS,
  ensureCapabilityLanes,
  serveCapability,
} from "./worker.ts"
export type { ServeOptions, TaskContext, TaskHandler, WorkerEvent, WorkerHandle, WorkerStats } from "./worker.ts"
export { startScheduler } from "./scheduler.ts"
export type { SchedulerHandle, SchedulerOptions } from "./scheduler.ts"
export { getTaskStatus, requestTaskStatus, startStatusResponder } from "./status.ts"
export { recentTasks, type RecentTasks } from "./recent-tasks.ts"
export type { StatusResponder } from "./status.ts"
export { deadLetters } from "./dead-letters.ts"
export type { DeadLetters } from "./dead-letters.ts"
export { DEFAULT_DUPLICATE_WINDOW_MS, DEFAULT_TASK_TTL_MS, ensureTaskStreams } from "./streams.ts"
export type { TaskStores, TaskStreamOptions } from "./streams.ts"
export {
  BID_WEIGHTS,
  URGENCY_HORIZON_MS,
  bidDelayMs,
  bidScore,
  capabilityMatch,
  createMarketplace,
  noSignals,
  pheromoneSignals,
  taskPheromoneStrength,
  taskUrgency,
} from "./marketplace.ts"
export type { BidderHandle, BidderSpec, Marketplace, MarketplaceOptions, MarketTaskContext, OfferResult, TaskSignals } from "./marketplace.ts"
export type { AssignmentReceipt, BidReason } from "./assignment-receipt.ts"
export { NoBidderError, TaskEngineError, TaskRejected } from "./errors.ts"
export { startNodeTasks } from "./node-tasks.ts"
export type { NodeTaskOptions, NodeTasks, NodeTasksContext } from "./node-tasks.ts"
