/**
 * The task engine for one connection: streams ensured once, the scheduler and the status
 * responder running, and the submit / serve / status / dead-letter API bound to a tenant.
 * A runtime node starts one; a plain script can too (`startTaskEngine(nc)`). Stopping it stops
 * its workers, scheduler and responder; it never closes the connection it was given.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { DEFAULT_TENANT, token } from "../../subjects/grammar.ts"
import { TERMINAL_STATES, type TaskRecord, type TaskState } from "../../subjects/tasks.ts"
import { deadLetters, type DeadLetters } from "./dead-letters.ts"
import { TaskEngineError } from "./errors.ts"
import { startScheduler, type SchedulerHandle, type SchedulerOptions } from "./scheduler.ts"
import { getTaskStatus, startStatusResponder, type StatusResponder } from "./status.ts"
import { readStatus } from "./status-store.ts"
import { ensureTaskStreams, type TaskStreamOptions } from "./streams.ts"
import { submitTask, type SubmitResult, type TaskInput } from "./submit.ts"
import { serveCapability, type ServeOptions, type TaskHandler, type WorkerHandle } from "./worker.ts"

export interface TaskEngineOptions extends TaskStreamOptions, SchedulerOptions {
  /** Tenant of submit/getStatus/deadLetters and the default of serveCapability. Default `default`. */
  readonly tenant?: string
  /** Run a scheduler here (default true; any number of engines may). */
  readonly scheduler?: boolean
  /** Answer status requests here (default true). */
  readonly statusResponder?: boolean
  /** Defaults for every serveCapability of this engine. */
  readonly workerDefaults?: ServeOptions
  /**
   * Asked before each submission: the reason to refuse it (a tenant over its task backlog quota),
   * or undefined. The refusal is a TaskEngineError with code `quota_exceeded`; nothing is stored.
   */
  readonly admit?: (tenant: string) => Promise<string | undefined>
}

export interface TaskEngine {
  readonly tenant: string
  submit(input: TaskInput): Promise<SubmitResult>
  serveCapability(capability: string, handler: TaskHandler, opts?: ServeOptions): Promise<WorkerHandle>
  getStatus(id: string): Promise<TaskRecord | null>
  /** Resolves with the record once it is in one of `states` (default: completed or dead_lettered). */
  waitForStatus(id: string, opts?: { states?: ReadonlyArray<TaskState>; timeoutMs?: number }): Promise<TaskRecord>
  readonly deadLetters: DeadLetters
  /**
   * Stops the workers (each waits up to `graceMs`, default 5 s, for its running tasks and hands
   * back the rest for redelivery), then the scheduler and the status responder.
   */
  stop(opts?: { graceMs?: number }): Promise<void>
}

export async function startTaskEngine(nc: NatsConnection, opts: TaskEngineOptions = {}): Promise<TaskEngine> {
  const tenant = token("tenant", opts.tenant ?? DEFAULT_TENANT)
  await ensureTaskStreams(nc, opts)
  const scheduler: SchedulerHandle | undefined = opts.scheduler === false ? undefined : await startScheduler(nc, opts)
  const responder: StatusResponder | undefined = opts.statusResponder === false ? undefined : await startStatusResponder(nc)
  const workers = new Set<WorkerHandle>()
  let stopped = false
  return {
    tenant,
    async submit(input) {
      const refusal = await opts.admit?.(tenant)
      if (refusal !== undefined) throw new TaskEngineError("quota_exceeded", refusal)
      return await submitTask(nc, input, { tenant, ...(opts.replicas === undefined ? {} : { replicas: opts.replicas }) })
    },
    async serveCapability(capability, handler, o) {
      if (stopped) throw new TaskEngineError("unavailable", "the task engine is stopped")
      const w = await serveCapability(nc, capability, handler, { ...opts.workerDefaults, tenant, ...(opts.replicas === undefined ? {} : { replicas: opts.replicas }), ...o })
      workers.add(w)
      return {
        ...w,
        stats: () => w.stats(),
        async stop(so) {
          workers.delete(w)
          await w.stop(so)
        },
      }
    },
    getStatus: (id) => getTaskStatus(nc, id, { tenant }),
    async waitForStatus(id, o = {}) {
      const states = o.states ?? TERMINAL_STATES
      const deadline = Date.now() + (o.timeoutMs ?? 30_000)
      // Only `pending` needs the search of the task stream that a task without a record costs.
      const read = states.includes("pending")
        ? () => getTaskStatus(nc, id, { tenant })
        : async () => (await readStatus((await ensureTaskStreams(nc)).status, tenant, token("id", id)))?.record ?? null
      for (;;) {
        let r = await read()
        if (r && states.includes(r.state)) return r
        if (Date.now() > deadline) {
          r ??= await getTaskStatus(nc, id, { tenant })
          throw new TaskEngineError("timeout", `task ${id} is ${r ? r.state : "unknown"}, not ${states.join("/")}, after ${o.timeoutMs ?? 30_000} ms`)
        }
        await new Promise((res) => setTimeout(res, 50))
      }
    },
    deadLetters: deadLetters(nc, { tenant }),
    async stop(o) {
      if (stopped) return
      stopped = true
      await Promise.all([...workers].map((w) => w.stop({ graceMs: o?.graceMs ?? 5_000 })))
      await scheduler?.stop()
      await responder?.stop()
    },
  }
}
