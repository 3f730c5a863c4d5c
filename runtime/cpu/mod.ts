/**
 * CPU: keeping one actor's computation from holding up the others. A fair queue for the node's
 * dispatch (deficit round robin across tenants and actors), a monitor that names the actor
 * whose handler blocked the event loop, and a worker-thread pool for types that compute.
 * May import Node built-ins (worker_threads, perf_hooks) only; nothing from the rest of the
 * runtime.
 */
export { FairQueue } from "./fair-queue.ts"
export type { FairQueueOptions } from "./fair-queue.ts"
export { LOOP_MONITOR_DEFAULTS, LoopMonitor } from "./loop-monitor.ts"
export type { ActorRefLike, BlockReport, LoopMonitorOptions, RunningActor } from "./loop-monitor.ts"
export { HandlerTimeoutError, WORKER_POOL_DEFAULTS, WorkerCrashedError, WorkerPool } from "./worker-pool.ts"
export type { Job, JobResult, OffloadSpec } from "./worker-pool.ts"
