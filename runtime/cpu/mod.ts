/**
 * Layer `cpu`: keeping one actor's computation from holding up the others. A monitor that
 * names the actor whose handler blocked the event loop, and a worker-thread pool for agent
 * types that compute. (Fairness under a flood is the node's inbound lanes: node/inbound-lanes.ts.)
 *
 * Promises: the loop monitor reports every synchronous stretch over its threshold with the
 * actor that ran it; a pool job past its deadline has its worker terminated and replaced.
 * May import: Node built-ins (worker_threads, perf_hooks) only; nothing else of the runtime.
 */
export { LOOP_MONITOR_DEFAULTS, LoopMonitor } from "./loop-monitor.ts"
export type { ActorRefLike, BlockReport, LoopMonitorOptions, RunningActor } from "./loop-monitor.ts"
export { HandlerTimeoutError, WORKER_POOL_DEFAULTS, WorkerCrashedError, WorkerPool } from "./worker-pool.ts"
export type { Job, JobResult, OffloadSpec } from "./worker-pool.ts"
