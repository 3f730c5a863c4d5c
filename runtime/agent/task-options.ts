/**
 * The worker's public contract: what a handler receives, the options of `serveCapability` with
 * every default written down, and the handle it returns.
 */
import type { DeadLetterReason } from "../../subjects/tasks.ts"
import type { AskOptions, Target } from "./actor-context.ts"
import type { Pheromones } from "../stigmergy/mod.ts"
import type { Backoff, BackoffInput } from "../../supervisors/spec.ts"

export const DEFAULT_MAX_ATTEMPTS = 3
/**
 * A claim's length: a delivery the server sent but the worker never got (lost with a connection
 * that dropped, from a node killed before its membership entry listed it) runs again after this.
 */
export const DEFAULT_ACK_WAIT_MS = 30_000
export const DEFAULT_CONCURRENCY = 16
/** Task retries: 1 s, doubling, at most 60 s; jitter takes up to 20% off. */
export const DEFAULT_BACKOFF: Backoff = Object.freeze({ initialMs: 1_000, maxMs: 60_000, multiplier: 2, jitter: 0.2 })

export interface TaskContext {
  readonly id: string
  readonly tenant: string
  readonly capability: string
  readonly priority: number
  /** 1 for the first attempt. */
  readonly attempt: number
  readonly maxAttempts: number
  readonly sessionId?: string
  /** Epoch ms. */
  readonly deadline?: number
  readonly submittedAt: string
  readonly workerId: string
  /** How many times the task was resubmitted from the dead-letter queue (0 for a fresh task). */
  readonly resubmits: number
  /** Keeps the claim alive now (the worker also does it on a timer while the handler runs). */
  working(): void
  /**
   * Says who really runs the task when the handler hands it on (the marketplace reports its
   * winning agent): the `claimed` record, and the `completed`/`failed` record after it, show
   * `agentId` as `claimedBy` instead of the worker.
   */
  assign(agentId: string): void
}

export type TaskHandler = (payload: any, ctx: TaskContext) => unknown

/**
 * The context of a task handler declared on an agent type (`capabilities`), run by a runtime
 * node: the worker's, plus what the handler may do in the task's tenant. All of it goes through
 * that tenant's connection when the node has an auth folder, so the server holds the handler to
 * its tenant's permissions; a target naming another tenant is refused with `forbidden` first.
 */
export interface AgentTaskContext extends TaskContext {
  ask(target: Target, tag: string, message: unknown, options?: AskOptions): Promise<unknown>
  tell(target: Target, tag: string, message: unknown): void
  /** Publishes JSON to `ants.<tenant>.topic.<name>` (the task's tenant). */
  publish(topic: string, data: unknown): void
  /** Pheromones of the task's tenant, signed by the serving agent (`<type>@<node>`). */
  readonly pheromones: Pheromones
}

export type WorkerEvent =
  | { readonly type: "started"; readonly id: string; readonly attempt: number }
  | { readonly type: "completed"; readonly id: string; readonly attempt: number }
  | { readonly type: "failed"; readonly id: string; readonly attempt: number; readonly error: string; readonly retryInMs: number }
  | { readonly type: "dead_lettered"; readonly id: string; readonly attempts: number; readonly reason: DeadLetterReason }
  | { readonly type: "duplicate"; readonly id: string }
  | { readonly type: "late_result"; readonly id: string; readonly attempt: number }
  | { readonly type: "moved"; readonly id: string; readonly to: string }

export interface ServeOptions {
  /** Default `default`. */
  readonly tenant?: string
  /** Who claims (shown in `claimed` records). Default `<host>-<pid>-<random>`. */
  readonly workerId?: string
  /** Tasks run at once by this worker. Default 16. */
  readonly concurrency?: number
  /** Attempts before dead-lettering. Default 3. */
  readonly maxAttempts?: number
  /**
   * Claim duration (the lanes' ack wait). Default 30 s, kept alive every 10 s while the handler
   * runs (`keepAlive`), so only a handler that blocks the event loop that long loses its claim.
   * It is also how long a delivery lost in transit (its connection dropped) waits before it runs
   * elsewhere. The lanes are durable consumers shared by every worker of the capability;
   * starting a worker with another value updates them.
   */
  readonly ackWaitMs?: number
  /** Retry delay after attempt n: min(maxMs, initialMs * multiplier^(n-1)), less up to `jitter` (0.2) of it. */
  readonly backoff?: BackoffInput
  /** How long a session task waits before asking again whether it is the session's next. Default 250 ms. */
  readonly sessionRetryMs?: number
  /** A first attempt writes its `claimed` record once it has run this long. Default 50 ms. */
  readonly claimRecordAfterMs?: number
  /**
   * Send `working()` on a timer while the handler runs (default true). Turn off only for a
   * handler that calls `ctx.working()` itself (and to test what happens when a claim expires).
   */
  readonly keepAlive?: boolean
  /** Expiry of the requests parked while idle. Default 10 s. */
  readonly idlePollMs?: number
  /** Observes what the worker does (tests, metrics). */
  readonly onEvent?: (e: WorkerEvent) => void
  /**
   * Why a tenant's tasks wait now (its suspension), or undefined. A task of such a tenant is
   * parked in the schedule stream for `PAUSED_TASK_DELAY_MS` instead of running (no attempt counted).
   */
  readonly paused?: (tenant: string) => string | undefined
  /** Replicas of the task streams and buckets if this call is the one that creates them. Default 1. */
  readonly replicas?: number
}

export interface WorkerStats {
  readonly inflight: number
  readonly completed: number
  readonly failed: number
  readonly deadLettered: number
  readonly duplicates: number
}

export interface WorkerHandle {
  readonly capability: string
  readonly tenant: string
  readonly workerId: string
  stats(): WorkerStats
  /** Stops taking tasks, waits up to `graceMs` (default 30 s) for running ones, hands back the rest. */
  stop(opts?: { graceMs?: number }): Promise<void>
}

/** ServeOptions with every default applied. */
export interface WorkerConfig {
  readonly workerId: string
  readonly concurrency: number
  readonly maxAttempts: number
  readonly ackWaitMs: number
  readonly backoff: Backoff
  readonly sessionRetryMs: number
  readonly claimRecordAfterMs: number
  readonly idlePollMs: number
  readonly keepAlive: boolean
  readonly onEvent?: (e: WorkerEvent) => void
  readonly paused?: (tenant: string) => string | undefined
}

/** How long a task of a paused (suspended) tenant waits in the schedule stream before it is looked at again. */
export const PAUSED_TASK_DELAY_MS = 30_000
