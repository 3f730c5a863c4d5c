/**
 * Workers: `serveCapability(nc, capability, handler, opts)` delivers the capability's tasks to a
 * plain async handler, at least once.
 *
 * Promises, in order of a task's life:
 * - Priority: each priority 1..10 has its own lane (subject and durable consumer); before
 *   starting any task the worker asks the higher lanes first, so when tasks of several
 *   priorities wait, higher ones start first. Sessions have one more lane, served after 5.
 * - Claim: a delivered task is held for `ackWaitMs` (default 30 s) and kept alive with
 *   `working()` every third of it while the handler runs.
 * - Success: the `completed` record (with the result) is written, then the message is acked
 *   with a confirmed ack (ackAck).
 * - Failure: the `failed` record is written and the message is nak'ed with exponential backoff
 *   (1 s, 2 s, 4 s ... up to 60 s by default, ±20% jitter); the attempt that reaches
 *   `maxAttempts` (default 3) copies the task to the dead-letter stream with its attempts,
 *   last error and reason, and only then terminates it. A handler throwing `TaskRejected`
 *   dead-letters at once. A poison task never blocks the tasks behind it: while it waits for
 *   its retry the lane keeps delivering.
 * - Attempts: the first delivery is attempt 1 without a round trip; a redelivery reads the
 *   status record first, skips a task already completed or dead-lettered (a worker that died
 *   between recording and acking), and claims the next attempt conditionally on the record's
 *   revision. A worker whose claim moved on to another (its ack wait expired) has its late
 *   result refused by that revision check, so a result is recorded once.
 * - Sessions: a session task starts only when it is the oldest message of its session still in
 *   the stream (acked tasks leave the work queue), so one session runs one task at a time in
 *   submission order; other sessions are not held up.
 * - Plain publishes are normalised on first delivery: a body asking for another priority, a
 *   session or a future `notBefore` is moved to its lane or to the schedule stream.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import type { JetStreamManager } from "@nats-io/jetstream"
import type { KV } from "@nats-io/kv"
import { nuid } from "@nats-io/nats-core"
import { hostname } from "node:os"
import { DEFAULT_TENANT, SubjectError, isToken, token } from "../../subjects/grammar.ts"
import {
  TASKS_STREAM,
  TaskHeaders,
  capabilityProblem,
  parseTaskSubject,
  taskLaneSubject,
  taskScheduleSubject,
  type Task,
} from "../../subjects/tasks.ts"
import { withBackoff } from "../../supervisors/backoff.ts"
import { decodeTaskBody } from "./task-codec.ts"
import { errorMessage } from "./errors.ts"
import { parseJsonSafe } from "../limits/safe-json.ts"
import { Delivery, LanePuller } from "./lane-puller.ts"
import { deliveredTaskId } from "./task-id.ts"
import { ensureCapabilityLanes, type Lane } from "./lanes.ts"
import { SessionGate } from "./session-gate.ts"
import { moveTask } from "./settle.ts"
import { ensureTaskStreams } from "./streams.ts"
import { deadLetter, runAttempt, type AttemptHost } from "./attempt.ts"
import {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_BACKOFF,
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_ATTEMPTS,
  PAUSED_TASK_DELAY_MS,
  type ServeOptions,
  type TaskContext,
  type TaskHandler,
  type WorkerConfig,
  type WorkerHandle,
  type WorkerStats,
} from "../agent/task-options.ts"

export { ensureCapabilityLanes } from "./lanes.ts"
export {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_BACKOFF,
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_ATTEMPTS,
  type ServeOptions,
  type TaskContext,
  type TaskHandler,
  type WorkerEvent,
  type WorkerHandle,
  type WorkerStats,
} from "../agent/task-options.ts"

const decoder = new TextDecoder()
/** How long a lane found empty is left alone: doubled for each ask in a row that found it empty, up to EMPTY_BACKOFF_STEPS times. */
const EMPTY_LANE_MS = 25
const EMPTY_BACKOFF_STEPS = 4

/** Serves a capability: tasks on `ants.<tenant>.task.<capability>` (all lanes) go to `handler`. */
export async function serveCapability(nc: NatsConnection, capability: string, handler: TaskHandler, opts: ServeOptions = {}): Promise<WorkerHandle> {
  const tenant = token("tenant", opts.tenant ?? DEFAULT_TENANT)
  const problem = capabilityProblem(capability)
  if (problem) throw new SubjectError(problem, "capability", capability)
  const stores = await ensureTaskStreams(nc, opts.replicas === undefined ? {} : { replicas: opts.replicas })
  const ackWaitMs = opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS
  const lanes = await ensureCapabilityLanes(stores.jsm, tenant, capability, ackWaitMs)
  const w = new Worker(nc, stores.jsm, stores.status, tenant, capability, handler, lanes, {
    workerId: opts.workerId ?? `${hostname()}-${process.pid}-${nuid.next().slice(-6)}`,
    concurrency: Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY),
    maxAttempts: Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
    ackWaitMs,
    backoff: withBackoff(DEFAULT_BACKOFF, opts.backoff),
    sessionRetryMs: opts.sessionRetryMs ?? 250,
    claimRecordAfterMs: opts.claimRecordAfterMs ?? 50,
    idlePollMs: Math.max(1_000, opts.idlePollMs ?? 10_000),
    keepAlive: opts.keepAlive ?? true,
    onEvent: opts.onEvent,
    paused: opts.paused,
  })
  w.start()
  return {
    capability,
    tenant,
    workerId: w.cfg.workerId,
    stats: () => w.stats(),
    stop: (o) => w.stop(o?.graceMs ?? 30_000),
  }
}

class Worker implements AttemptHost {
  private running = false
  private inflight = 0
  /** Deliveries whose handler is running: handed back when stop's grace runs out. */
  private readonly active = new Set<Delivery>()
  private readonly buffer: Delivery[] = []
  private wake: (() => void) | undefined
  private readonly puller: LanePuller
  private readonly sessions: SessionGate
  private loopDone: Promise<void> = Promise.resolve()
  private idleWaiters: Array<() => void> = []
  readonly counts = { completed: 0, failed: 0, deadLettered: 0, duplicates: 0 }

  constructor(
    readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    readonly kv: KV,
    private readonly tenant: string,
    private readonly capability: string,
    readonly handler: TaskHandler,
    private readonly lanes: Lane[],
    readonly cfg: WorkerConfig,
  ) {
    this.puller = new LanePuller(nc, TASKS_STREAM, (d) => this.arrive(d))
    this.sessions = new SessionGate(jsm, cfg.sessionRetryMs, cfg.concurrency * 4, (d) => this.arrive(d))
    for (const l of lanes) this.puller.register(l)
  }

  stats(): WorkerStats {
    return { inflight: this.inflight, ...this.counts }
  }

  private keepBuffered: ReturnType<typeof setInterval> | undefined

  start(): void {
    this.running = true
    // Prefetched tasks waiting behind higher priorities keep their claims too.
    this.keepBuffered = setInterval(() => {
      for (const d of this.buffer) d.working()
      this.sessions.keepAlive()
    }, Math.max(200, Math.floor(this.cfg.ackWaitMs / 3)))
    // Pull requests parked before a reconnect died with the old connection: ask again at once.
    void (async () => {
      for await (const s of this.nc.status()) {
        if (!this.running) break
        if (s.type === "reconnect") {
          for (const lane of this.lanes) lane.emptyUntil = 0
          this.puller.forgetParked()
          this.signal()
        }
      }
    })().catch(() => undefined)
    this.loopDone = this.run()
  }

  async stop(graceMs: number): Promise<void> {
    if (!this.running) return
    this.running = false
    clearInterval(this.keepBuffered)
    this.signal()
    await this.loopDone
    for (const d of this.buffer.splice(0)) d.nak()
    this.sessions.releaseAll()
    const deadline = Date.now() + graceMs
    while (this.inflight > 0 && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.idleWaiters.push(r)
        setTimeout(r, Math.max(1, deadline - Date.now()))
      })
    }
    // Still running after the grace: hand them back now, so another worker gets them at once
    // rather than after the claim expires (a late result is then refused by the revision check).
    for (const d of this.active) d.nak()
    this.puller.close()
  }

  private arrive(d: Delivery): void {
    if (!this.running) {
      d.nak()
      return
    }
    // keep the buffer ordered by lane (stable within a lane: stream order)
    let i = this.buffer.length
    while (i > 0 && this.buffer[i - 1].lane.order > d.lane.order) i--
    this.buffer.splice(i, 0, d)
    this.signal()
  }

  private readonly lapsed = (): void => this.signal()

  private signal(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  private async waitForSignal(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.wake = undefined
        r()
      }, ms)
      this.wake = () => {
        clearTimeout(t)
        r()
      }
    })
  }

  /** The loop must outlive anything thrown in it (a closed connection while reconnecting, a bug). */
  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.loop()
      } catch {
        if (this.running) await this.waitForSignal(500)
      }
    }
  }

  private async loop(): Promise<void> {
    const prefetch = this.cfg.concurrency * 2
    while (this.running) {
      // 1. Top up from the lanes, highest first; never ask a lane below the best task already held.
      const best = this.buffer[0]
      let pulled = false
      for (const lane of this.lanes) {
        const room = prefetch - this.inflight - this.buffer.length
        if (room <= 0) break
        if (best && best.lane.order <= lane.order) break
        // a lane our parked request waits on is empty (what comes there comes to that request)
        if (lane.emptyUntil > Date.now() || this.puller.parked(lane)) continue
        const n = await this.puller.poll(lane, room)
        if (!this.running) return
        if (n === 0) {
          // a lane empty time after time (a priority nobody submits at) is asked less often:
          // 25, 50, 100, then every 200 ms while this worker has a task to run or buffered; an
          // idle worker parks a request on every lane instead (3. below), answered on arrival
          lane.emptyStreak = Math.min(lane.emptyStreak + 1, EMPTY_BACKOFF_STEPS)
          lane.emptyUntil = Date.now() + EMPTY_LANE_MS * 2 ** (lane.emptyStreak - 1)
        } else {
          lane.emptyStreak = 0
          pulled = true
          break
        }
      }
      if (pulled) continue
      // 2. Start the best task held, if a slot is free.
      if (this.buffer.length > 0) {
        if (this.inflight < this.cfg.concurrency) this.dispatch(this.buffer.shift()!)
        else await this.waitForSignal(50)
        continue
      }
      if (this.inflight >= this.cfg.concurrency) {
        await this.waitForSignal(50)
        continue
      }
      // 3. Idle: park a one-message request on every lane and wait for anything to happen. A
      //    request that expires wakes the loop to park another: the wait below can end just
      //    before the server's expiry reaches us, and would then leave the lane uncovered.
      for (const lane of this.lanes) this.puller.longPoll(lane, this.cfg.idlePollMs, this.lapsed)
      await this.waitForSignal(this.cfg.idlePollMs)
      for (const lane of this.lanes) lane.emptyUntil = 0
    }
  }

  private dispatch(d: Delivery): void {
    this.inflight++
    this.active.add(d)
    void this.process(d)
      .catch((e) => {
        // Never lose a task to a bug here: hand it back.
        if (!d.settled) d.nak(this.cfg.backoff.initialMs)
        this.cfg.onEvent?.({ type: "failed", id: "?", attempt: 0, error: errorMessage(e), retryInMs: this.cfg.backoff.initialMs })
      })
      .finally(() => {
        this.active.delete(d)
        this.inflight--
        for (const r of this.idleWaiters.splice(0)) r()
        this.signal()
      })
  }

  private async process(d: Delivery): Promise<void> {
    const now = Date.now()
    const id = deliveredTaskId(d)
    const resubmits = Number(d.msg.headers?.get(TaskHeaders.Resubmits) || 0)
    let where
    try {
      where = parseTaskSubject(d.msg.subject)
    } catch (e) {
      return await deadLetter(this, d, this.stubTask(id, d), "malformed_payload", d.info.deliveryCount, errorMessage(e), resubmits)
    }
    let body: unknown
    let task: Task | Error
    const raw = decoder.decode(d.msg.data)
    try {
      body = parseJsonSafe(raw) // prototype keys: dead-lettered malformed before a handler sees them
      task = decodeTaskBody(body, { tenant: where.tenant, capability: where.capability, id, now, bodyBytes: d.msg.data.length })
    } catch (e) {
      task = new Error(`task body is not JSON: ${errorMessage(e)}`)
    }
    if (task instanceof Error) {
      return await deadLetter(this, d, this.stubTask(id, d), "malformed_payload", d.info.deliveryCount, task.message, resubmits, raw)
    }

    // A suspended tenant's tasks wait, parked as scheduled (no attempt spent), until it is resumed.
    if (this.cfg.paused?.(task.tenant) !== undefined) return await this.move(d, { ...task, notBefore: now + PAUSED_TASK_DELAY_MS }, taskScheduleSubject(task.tenant, task.capability), "scheduled")
    // Normalise plain publishes: wrong lane, session or future notBefore.
    const future = task.notBefore !== undefined && task.notBefore > now
    if (future) return await this.move(d, task, taskScheduleSubject(task.tenant, task.capability), "scheduled")
    if (d.lane.kind === "priority" && (task.sessionId !== undefined || task.priority !== d.lane.priority)) {
      return await this.move(d, task, taskLaneSubject(task.tenant, task.capability, task.priority, task.sessionId), "pending")
    }

    if (d.lane.kind === "session") {
      if (!(await this.sessions.admit(d))) return
      try {
        return await this.attempt(d, task, resubmits, true)
      } finally {
        this.sessions.done(d)
      }
    }
    return await this.attempt(d, task, resubmits, d.info.deliveryCount > 1)
  }

  private attempt(d: Delivery, task: Task, resubmits: number, checkRecord: boolean): Promise<void> {
    return runAttempt(this, d, task, resubmits, checkRecord)
  }

  private stubTask(id: string, d: Delivery): Task {
    return {
      id,
      tenant: this.tenant,
      capability: this.capability,
      priority: d.lane.priority,
      payload: null,
      submittedAt: new Date().toISOString(),
    }
  }

  private async move(d: Delivery, task: Task, subject: string, state: "pending" | "scheduled"): Promise<void> {
    await moveTask(this.nc, d, task, subject, state)
    this.cfg.onEvent?.({ type: "moved", id: task.id, to: subject })
  }

}
