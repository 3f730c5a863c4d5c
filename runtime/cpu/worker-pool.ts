/**
 * Handlers run off the node's main thread, for agent types that compute: a pool of worker
 * threads per type, so a CPU-bound handler occupies a worker, not the loop every other tenant's
 * actors share.
 *
 * A function cannot cross threads, so the type names where its definition lives: the module
 * (a path or file URL) and the export name; each worker loads it once. A job carries the tag,
 * the message and the actor's state (structured-cloned in, and back out with the reply), so
 * handlers of offloaded types see `ctx.self`, `ctx.state` and `ctx.log` only (no messaging,
 * pheromones or subscriptions: those belong to the main thread). An actor still handles one
 * message at a time; different actors of the type run in parallel, up to `size` workers, and
 * jobs beyond that wait in order.
 *
 * Workers start on the first jobs (a type never called costs no thread). A job that passes its deadline has its worker terminated (the only way to stop a thread
 * that computes) and replaced; the caller gets `HandlerTimeoutError`. A worker that dies fails
 * its job with `WorkerCrashedError` and is replaced.
 */
import { TaggedError } from "../../subjects/errors.ts"
import { Worker } from "node:worker_threads"
import { isAbsolute, resolve } from "node:path"
import { pathToFileURL } from "node:url"

/** Where a type's definition is, for its workers to load. */
export interface OffloadSpec {
  /** The module exporting the definition: a file URL (`import.meta.url`) or a path. */
  readonly module: string
  /** The export name of the definition in that module. */
  readonly export: string
  /** Worker threads for the type. Default 2. */
  readonly size?: number
}

export const WORKER_POOL_DEFAULTS = { size: 2 } as const

export interface Job {
  readonly tag: string
  readonly message: unknown
  readonly state: unknown
  readonly self: { readonly tenant: string; readonly type: string; readonly id: string }
}

export interface JobResult {
  readonly reply: unknown
  readonly state: unknown
}

export class HandlerTimeoutError extends TaggedError("HandlerTimeoutError") {
  constructor(
    readonly tag: string,
    readonly timeoutMs: number,
  ) {
    super(`handler of ${tag} did not finish within ${timeoutMs} ms`)
  }
}

export class WorkerCrashedError extends TaggedError("WorkerCrashedError") {}

interface Pending {
  readonly job: Job
  readonly timeoutMs: number
  readonly resolve: (r: JobResult) => void
  readonly reject: (e: Error) => void
}

interface Slot {
  worker: Worker
  busy: Pending | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  jobId: number
}

const workerFile = new URL("./handler-worker.mjs", import.meta.url)

function moduleUrl(module: string): string {
  if (/^[a-z]+:/i.test(module)) return module
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href
}

export class WorkerPool {
  private readonly slots: Slot[] = []
  private readonly waiting: Pending[] = []
  private nextId = 1
  private stopped = false
  /** Workers replaced after a timeout or a crash. */
  replaced = 0

  constructor(
    readonly spec: OffloadSpec,
    private readonly log: (level: "info" | "warn" | "error", message: string) => void = () => {},
  ) {
    this.capacity = spec.size ?? WORKER_POOL_DEFAULTS.size
  }

  /** Workers the pool may run (they start on the first jobs, so a type never called costs none). */
  readonly capacity: number

  /** Workers started now. */
  get size(): number {
    return this.slots.length
  }

  /** Runs a job on a free worker (or queues it); rejects after `timeoutMs` with HandlerTimeoutError. */
  run(job: Job, timeoutMs: number): Promise<JobResult> {
    if (this.stopped) return Promise.reject(new WorkerCrashedError("the worker pool is stopped"))
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, timeoutMs, resolve, reject })
      this.pump()
    })
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const p of this.waiting.splice(0)) p.reject(new WorkerCrashedError("the worker pool stopped"))
    await Promise.all(
      this.slots.map(async (s) => {
        clearTimeout(s.timer)
        s.busy?.reject(new WorkerCrashedError("the worker pool stopped"))
        s.busy = undefined
        await s.worker.terminate()
      }),
    )
  }

  private spawn(): Slot {
    const worker = new Worker(workerFile, { workerData: { module: moduleUrl(this.spec.module), exportName: this.spec.export } })
    worker.unref()
    const slot: Slot = { worker, busy: undefined, timer: undefined, jobId: 0 }
    worker.on("message", (m: { id?: number; ok?: boolean; reply?: unknown; state?: unknown; error?: string; log?: { message: string } }) => {
      if (m.log !== undefined) {
        this.log("info", `${this.spec.export} (worker): ${m.log.message}`)
        return
      }
      if (m.id === undefined || m.id !== slot.jobId || slot.busy === undefined) return
      const p = slot.busy
      slot.busy = undefined
      clearTimeout(slot.timer)
      if (m.ok) p.resolve({ reply: m.reply, state: m.state })
      else p.reject(new Error(m.error ?? "handler failed"))
      this.pump()
    })
    worker.on("error", (e) => this.lost(slot, new WorkerCrashedError(`worker of ${this.spec.export} crashed: ${e.message}`)))
    worker.on("exit", (code) => {
      if (!this.stopped) this.lost(slot, new WorkerCrashedError(`worker of ${this.spec.export} exited with code ${code}`))
    })
    return slot
  }

  /** A worker is gone (crashed, or terminated for a timeout): fail its job and put a new one in its place. */
  private lost(slot: Slot, error: Error): void {
    const i = this.slots.indexOf(slot)
    if (i < 0) return
    clearTimeout(slot.timer)
    const p = slot.busy
    slot.busy = undefined
    if (this.stopped) return
    this.slots[i] = this.spawn()
    this.replaced++
    if (p) p.reject(error)
    this.pump()
  }

  private pump(): void {
    // start workers lazily, one per waiting job, up to the capacity
    let free = this.slots.filter((s) => s.busy === undefined).length
    while (free < this.waiting.length && this.slots.length < this.capacity) {
      this.slots.push(this.spawn())
      free++
    }
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return
      if (slot.busy !== undefined) continue
      const p = this.waiting.shift()!
      slot.busy = p
      slot.jobId = this.nextId++
      try {
        slot.worker.postMessage({ id: slot.jobId, tag: p.job.tag, message: p.job.message, state: p.job.state, self: p.job.self })
      } catch (e) {
        // the state or message cannot be cloned (functions, symbols)
        slot.busy = undefined
        p.reject(new Error(`cannot pass ${p.job.tag} to a worker: ${(e as Error).message}`))
        continue
      }
      if (Number.isFinite(p.timeoutMs)) {
        slot.timer = setTimeout(() => {
          if (slot.busy !== p) return
          this.log("warn", `${this.spec.export}: handler of ${p.job.tag} passed its ${p.timeoutMs} ms deadline; its worker is terminated and replaced`)
          slot.busy = undefined
          const i = this.slots.indexOf(slot)
          if (i >= 0) {
            this.slots[i] = this.spawn()
            this.replaced++
          }
          void slot.worker.terminate()
          p.reject(new HandlerTimeoutError(p.job.tag, p.timeoutMs))
          this.pump()
        }, p.timeoutMs)
      }
    }
  }
}
