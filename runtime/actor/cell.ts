/**
 * One activation of one actor: its state, its bounded mailbox and the loop that handles one
 * message at a time in arrival order. A cell is created on the first message (virtual actors:
 * no spawn call), restores its last checkpoint, checkpoints changed state according to its
 * type's policy, and is dropped from memory when it passivates. A handler that throws never
 * takes the node down: the caller gets `handler_failed` (a model error, its own code); the supervisor decides.
 *
 * Storage comes before acknowledgement (checkpoints.ts): answers run at most `CHECKPOINT_LAG_MS`
 * ahead of storage under `after-change`, only stored state is answered under `before-reply`, and
 * a cell whose store fails answers `unavailable` until a write lands.
 *
 * Memory: an idle cell is a handful of fields (the mailbox buffer and the context object are
 * allocated on demand and released), so a node holds 100,000 idle actors comfortably.
 */
import { isModelLayerError, modelErrorCode } from "../models/mod.ts"
import type { Msg } from "@nats-io/nats-core"
import type { ErrorCode, LifecycleState } from "../../subjects/envelope.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { ActorContext } from "../agent/actor-context.ts"
import { Mailbox } from "./mailbox.ts"
import { parseIssues, type CompiledTag } from "../agent/protocol.ts"
import type { Accounting, StateStore } from "./state-store.ts"
import { Checkpoints } from "./checkpoints.ts"
import type { AgentDefinition, CheckpointPolicy } from "../agent/define-agent.ts"
import type { TypeStats } from "./type-stats.ts"
import { DURABLE_HEADER } from "../../subjects/cluster.ts"
import type { MessageLedger, Ticket } from "../limits/message-ledger.ts"
import { checkState, type StateLimits } from "../limits/state-check.ts"
import type { LoopMonitor } from "../cpu/loop-monitor.ts"
import { HandlerTimeoutError, type WorkerPool } from "../cpu/worker-pool.ts"

/** A decoded message waiting in a mailbox. `msg` is kept for its reply subject. */
export interface Envelope {
  readonly tag: string
  readonly message: unknown
  readonly msg: Msg | undefined
  /** Where the node counted the message in (settled once: handled or rejected with a code). */
  readonly ticket?: Ticket
  /** Body bytes, counted against the actor's and the node's mailbox bytes while queued. */
  readonly bytes?: number
}

/** What ends a handler that raced its deadline (or an operator's reset) and lost. */
interface Abandon {
  readonly code: "timeout" | "unavailable"
  readonly reason: string
}

export type CellStatus = LifecycleState | "stopped"

export { CHECKPOINT_LAG_MS } from "./checkpoints.ts"

/**
 * What a cell asks of its type's host (implemented by TypeHost): the cell calls down into it for
 * every side effect, and the host is the only one that creates cells, so neither file imports
 * the other's class.
 */
export interface CellHost {
  readonly definition: AgentDefinition
  readonly compiled: ReadonlyMap<string, CompiledTag>
  readonly checkpointPolicy: CheckpointPolicy
  readonly mailboxCapacity: number
  /** Bytes of message bodies one actor may have queued. */
  readonly mailboxBytes: number
  /** What a stored state may be (bytes, depth). */
  readonly stateLimits: StateLimits
  /** The worker threads of an offloaded type. */
  readonly pool: WorkerPool | undefined
  readonly stats: TypeStats
  readonly store: StateStore
  readonly node: {
    readonly id: string
    log(level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>): void
    readonly ledger: MessageLedger
    readonly monitor: LoopMonitor
    readonly budget: { bytes: number; readonly max: number }
  }
  transition(a: ActorAddress, from: LifecycleState | "stopped", to: LifecycleState, reason?: string): void
  /** How long a handler of `tag` may run. */
  deadlineOf(tag: string): number
  /** Answers ok (an ask) and counts the message handled; a reply over max_payload becomes `too_large`. */
  replyOk(env: Envelope, value: unknown): void
  /** Answers an error (an ask) and counts the message rejected with `code`. */
  replyError(env: Envelope, code: ErrorCode, message: string, details?: unknown): void
  /** Frees a cell whose handler cannot be waited for: restarts it from its last stored state. */
  restartStuck(cell: ActorCell, reason: string): void
  restore(cell: ActorCell): Promise<void>
  activationFailed(cell: ActorCell, error: unknown): void
  checkpointFailed(cell: ActorCell, error: unknown): void
  supervise(cell: ActorCell, tag: string, error: unknown): void
  cellSettled(cell: ActorCell): void
  makeContext(cell: ActorCell): ActorContext
  stop(cell: ActorCell, reason: string): void
}

export class ActorCell implements ActorAddress {
  status: CellStatus = "cold"
  state: unknown = undefined
  /** Its checkpoints: what is stored, what is answered but not stored yet, the write in flight. */
  readonly checkpoints: Checkpoints = new Checkpoints(this)
  lastActivity = Date.now()
  /** Activation time of this incarnation, for cost accounting. */
  activeSince = Date.now()
  restarts = 0
  /** Accounting carried over from earlier incarnations (restored from the checkpoint). */
  activations = 1
  priorActiveMs = 0
  sleepingMs = 0
  /** Set by a checkpoint that says the actor last went to sleep (it passivated, maybe on another node). */
  wokeFromSleep = false
  private mailbox: Mailbox<Envelope> | null = null
  /** Body bytes queued in the mailbox. */
  queuedBytes = 0
  /** Ends the handler in flight now (its deadline passed, or a reset frees the actor). */
  private abandon: ((why: Abandon) => void) | undefined
  private running = false
  private pausedUntil = 0
  private ctx: ActorContext | null = null
  private ready: Promise<void> | null = null
  subscriptions: Array<{ unsubscribe(): void }> | null = null

  constructor(
    readonly host: CellHost,
    readonly tenant: string,
    readonly id: string,
    readonly key: string,
  ) {}

  get type(): string {
    return this.host.definition.type
  }

  get queued(): number {
    return this.mailbox?.size ?? 0
  }

  get busy(): boolean {
    return this.running || this.queued > 0 || this.checkpoints.busy
  }

  /**
   * Starts activation (restoring state); messages queue meanwhile. A cold wake publishes its
   * `…>warming` once the checkpoint is read, so an actor that passivated on another node (its
   * checkpoint carries `acct.sleptAt`) is reported `sleeping>warming`, not `cold>warming`.
   */
  activate(from: "cold" | "sleeping"): void {
    if (from === "sleeping") this.host.transition(this, from, "warming")
    this.status = "warming"
    const announce = () => {
      if (from === "cold") this.host.transition(this, this.wokeFromSleep ? "sleeping" : "cold", "warming")
    }
    this.ready = this.host.restore(this).then(
      () => {
        announce()
        this.activeSince = Date.now()
        this.host.transition(this, "warming", "active")
        this.status = "active"
        this.ready = null
        this.kick()
      },
      (e) => {
        announce()
        this.ready = null
        this.host.activationFailed(this, e)
      },
    )
  }

  /**
   * Queues a message; false when the mailbox is full (by count, by the actor's bytes, or by the
   * node's bytes). A message handled at once is never counted against the bytes.
   */
  enqueue(env: Envelope): boolean {
    if (this.mailbox === null) {
      // nothing queued and nothing running: handle it now, without allocating a mailbox
      if (this.runnable()) {
        if (this.status === "idle") {
          this.host.transition(this, "idle", "active")
          this.status = "active"
        }
        this.running = true
        this.run(env)
        return true
      }
      this.mailbox = new Mailbox(this.host.mailboxCapacity)
    }
    const bytes = env.bytes ?? 0
    if (bytes > 0) {
      const budget = this.host.node.budget
      // one message always fits an empty mailbox (it is within the body limit)
      if (this.mailbox.size > 0 && (this.queuedBytes + bytes > this.host.mailboxBytes || budget.bytes + bytes > budget.max)) return false
    }
    if (!this.mailbox.push(env)) return false
    if (bytes > 0) {
      this.queuedBytes += bytes
      this.host.node.budget.bytes += bytes
    }
    if (this.status === "idle") {
      this.host.transition(this, "idle", "active")
      this.status = "active"
    }
    this.kick()
    return true
  }

  /** Refuses everything queued (used when the activation cannot go on). */
  rejectQueued(code: "unavailable" | "overloaded", message: string): number {
    const items = this.drainMailbox()
    for (const env of items) this.host.replyError(env, code, message)
    return items.length
  }

  /** Removes and returns everything queued (the cluster forwards it to the node holding the actor). */
  takeQueued(): Envelope[] {
    const items = this.drainMailbox()
    for (const env of items) this.host.node.ledger.forwarded(env.ticket)
    return items
  }

  private drainMailbox(): Envelope[] {
    const items = this.mailbox?.clear() ?? []
    this.mailbox = null
    this.host.node.budget.bytes -= this.queuedBytes
    this.queuedBytes = 0
    return items
  }

  private dequeued(env: Envelope): void {
    const bytes = env.bytes ?? 0
    if (bytes > 0) {
      this.queuedBytes -= bytes
      this.host.node.budget.bytes -= bytes
    }
  }

  context(): ActorContext {
    if (this.ctx === null) this.ctx = this.host.makeContext(this)
    return this.ctx
  }

  /** Whether a message may start now (what `kick` checks, minus the mailbox). */
  private runnable(): boolean {
    return (
      !this.running &&
      this.ready === null &&
      this.status !== "warming" &&
      this.status !== "stopped" &&
      (this.pausedUntil === 0 || this.pausedUntil <= Date.now()) &&
      !this.holding()
    )
  }

  /** Answers are too far ahead of storage: the next message waits for the write in flight. */
  private holding(): boolean {
    return this.checkpoints.holding()
  }

  private kick(): void {
    if (this.running || this.ready !== null || this.status === "warming" || this.status === "stopped" || this.holding()) return
    if (this.mailbox === null || this.mailbox.size === 0) return
    const wait = this.pausedUntil - Date.now()
    if (wait > 0) {
      // restart backoff: messages wait in the mailbox until the actor is back
      this.running = true
      setTimeout(() => {
        this.running = false
        this.kick()
      }, wait)
      return
    }
    this.running = true
    this.run()
  }

  /**
   * Handles queued messages one at a time. Synchronous handlers run without a microtask hop, so
   * the replies to a burst of messages leave in one socket write (as a plain NATS responder's
   * would); the loop continues asynchronously only after a handler returns a promise.
   */
  private run(first?: Envelope): void {
    // `first`: a message enqueue() handed over directly (it checked what the loop checks)
    let env = first
    try {
      for (;;) {
        if (env === undefined) {
          const mb = this.mailbox
          if (mb === null || this.status === "stopped" || (this.pausedUntil !== 0 && this.pausedUntil > Date.now()) || this.holding()) break
          env = mb.shift()
          if (env === undefined) break
          this.dequeued(env)
        }
        const pending = this.handle(env)
        env = undefined
        if (pending !== undefined) {
          pending.then(
            () => this.run(),
            (e) => {
              this.host.node.log("error", `${this.type}/${this.id}: ${(e as Error)?.stack ?? e}`)
              this.run()
            },
          )
          return
        }
      }
    } catch (e) {
      // handle() catches handler errors itself; this is a runtime bug, never a crash
      this.host.node.log("error", `${this.type}/${this.id}: ${(e as Error)?.stack ?? e}`)
    }
    this.running = false
    this.lastActivity = Date.now()
    if (this.mailbox !== null && this.mailbox.size === 0) this.mailbox = null
    else if (this.status !== "stopped") this.kick()
    this.host.cellSettled(this)
  }

  /**
   * Handles one message; returns a promise only when something asynchronous is still going on.
   * The handler runs inside the loop monitor's slot (a long synchronous stretch is reported
   * naming this actor) and against its deadline: an async handler that passes it loses a race
   * (its caller gets `timeout`, the actor is restarted, the mailbox goes on; JavaScript cannot
   * stop the abandoned promise, whose late result is ignored); a synchronous one that overran
   * is treated the same once it returns. Offloaded types run in their worker pool.
   */
  private handle(env: Envelope): Promise<void> | undefined {
    const host = this.host
    if (env.tag === "_Wake") {
      host.replyOk(env, { type: this.type, id: this.id, status: this.status })
      return undefined
    }
    if (env.tag === "_Inspect") {
      host.replyOk(env, { tenant: this.tenant, type: this.type, id: this.id, status: this.status, node: host.node.id, queued: this.queued, acct: this.accounting() })
      return undefined
    }
    if (this.checkpoints.failing) {
      host.replyError(env, "unavailable", `${this.type}/${this.id} cannot store its state right now (NATS unreachable or without quorum); retry`)
      return undefined
    }
    const deadlineMs = host.deadlineOf(env.tag)
    const monitor = host.node.monitor
    let result: unknown
    monitor.enter(this, env.tag)
    try {
      if (host.pool !== undefined) {
        result = host.pool
          .run({ tag: env.tag, message: env.message, state: this.state, self: { tenant: this.tenant, type: this.type, id: this.id } }, deadlineMs)
          .then((r) => {
            if (this.status !== "stopped") this.state = r.state
            return r.reply
          })
      } else {
        const handler = host.definition.handlers[env.tag] as (m: unknown, ctx: ActorContext) => unknown
        result = handler(env.message, this.context())
      }
    } catch (error) {
      const ms = monitor.exit()
      if (ms > deadlineMs) this.timedOut(env, deadlineMs, ms)
      else this.failed(env, error)
      return undefined
    }
    const ms = monitor.exit()
    if (ms > deadlineMs) {
      this.timedOut(env, deadlineMs, ms)
      return undefined
    }
    if (result !== null && typeof result === "object" && typeof (result as Promise<unknown>).then === "function") {
      return this.race(env, result as Promise<unknown>, deadlineMs)
    }
    return this.completed(env, result)
  }

  /** An async handler against its deadline and against an operator's reset. */
  private race(env: Envelope, pending: Promise<unknown>, deadlineMs: number): Promise<void> | undefined {
    let settle!: (v: { ok: true; value: unknown } | { ok: false; error: unknown } | { abandoned: Abandon }) => void
    const outcome = new Promise<{ ok: true; value: unknown } | { ok: false; error: unknown } | { abandoned: Abandon }>((r) => (settle = r))
    pending.then(
      (value) => settle({ ok: true, value }),
      (error) => settle({ ok: false, error }),
    )
    const timer = Number.isFinite(deadlineMs)
      ? setTimeout(() => settle({ abandoned: { code: "timeout", reason: `did not finish within ${deadlineMs} ms` } }), deadlineMs)
      : undefined
    this.abandon = (why) => settle({ abandoned: why })
    return outcome.then((o) => {
      clearTimeout(timer)
      this.abandon = undefined
      if ("abandoned" in o) return this.abandoned(env, o.abandoned, deadlineMs)
      if (o.ok) return this.completed(env, o.value)
      if ((o.error as { _tag?: string })?._tag === "HandlerTimeoutError") return this.timedOut(env, deadlineMs, deadlineMs)
      return this.failed(env, o.error)
    })
  }

  /** Frees the actor from the handler in flight (an operator's reset): its caller gets `code`. */
  abandonInFlight(code: "timeout" | "unavailable", reason: string): boolean {
    if (this.abandon === undefined) return false
    this.abandon({ code, reason })
    return true
  }

  private abandoned(env: Envelope, why: Abandon, deadlineMs: number): void {
    if (why.code === "timeout") return this.timedOut(env, deadlineMs, deadlineMs)
    this.host.replyError(env, "unavailable", `${this.type}/${this.id}: ${env.tag} was abandoned: ${why.reason}; its change was not kept`)
    this.host.restartStuck(this, why.reason)
  }

  private timedOut(env: Envelope, deadlineMs: number, ranMs: number): void {
    const host = this.host
    host.stats.timeouts++
    const message = `${host.definition.type}.${env.tag} did not finish within ${deadlineMs} ms${ranMs > deadlineMs ? ` (it ran ${Math.round(ranMs)} ms)` : ""}; the actor is restarted`
    host.replyError(env, "timeout", message)
    host.supervise(this, env.tag, new HandlerTimeoutError(env.tag, deadlineMs))
  }

  private completed(env: Envelope, result: unknown): Promise<void> | undefined {
    const host = this.host
    if (this.status === "stopped") {
      // stopped while the handler ran (shutdown timeout passed, fenced): its change is not kept
      host.replyError(env, "unavailable", `${this.type}/${this.id} was stopped while handling ${env.tag}; its change was not kept`)
      return undefined
    }
    const encoded = host.compiled.get(env.tag)!.encodeReply(result)
    if (encoded._tag === "Left") {
      host.stats.handlerFailures++
      host.replyError(env, "handler_failed", `${host.definition.type}.${env.tag} returned a reply that does not fit its schema`, parseIssues(encoded.left))
      host.supervise(this, env.tag, new Error("reply does not fit its schema"))
      return undefined
    }
    // only a state that can be stored is acknowledged: one that cannot (not JSON, too deep, too
    // large) fails the message and goes back to the last stored one; the actor keeps working
    let json: string | undefined
    if (host.checkpointPolicy !== "never") {
      const checked = checkState(this.state, host.stateLimits)
      if (typeof checked !== "string") {
        host.stats.stateRefusals++
        this.rollback()
        host.replyError(env, checked.limit === "bytes" ? "too_large" : "handler_failed", `${host.definition.type}.${env.tag}: the new state cannot be stored (${checked.message}); the actor's state is back to its last stored one`)
        return undefined
      }
      json = checked
    }
    host.stats.handled++
    // durable mail (header Ants-Durable) is acked when the actor answers: its change must be stored first
    const durable = host.checkpointPolicy === "after-change" || host.checkpointPolicy === "on-passivate" ? env.msg?.headers?.has(DURABLE_HEADER) === true : false
    if (host.checkpointPolicy === "before-reply" || durable) {
      return this.checkpointNow().then(() => {
        // a fenced checkpoint stops this activation (another one owns the actor now): its answer must not go out
        if (this.status === "stopped") host.replyError(env, "unavailable", `${this.type}/${this.id} moved to another activation; retry`)
        else if (!this.checkpoints.stores(json ?? serialize(this.state))) {
          this.rollback()
          host.replyError(env, "unavailable", `${this.type}/${this.id} could not store its state; its change was not kept; retry`)
        } else host.replyOk(env, encoded.right)
      })
    }
    // a tell has no one to answer: the reply was checked against its schema, not encoded
    host.replyOk(env, encoded.right)
    if (host.checkpointPolicy === "after-change") this.checkpointSoon(json)
    return undefined
  }

  /** Puts the state back to the last one stored (or queued for storing behind a write in flight). */
  private rollback(): void {
    const last = this.checkpoints.lastAnswered
    this.state = last !== undefined ? JSON.parse(last) : this.host.definition.initialState({ tenant: this.tenant, id: this.id })
  }

  private failed(env: Envelope, error: unknown): void {
    const host = this.host
    host.stats.handlerFailures++
    const message = error instanceof Error ? error.message : String(error)
    host.replyError(env, isModelLayerError(error) ? modelErrorCode(error) : "handler_failed", `${host.definition.type}.${env.tag} failed: ${message}`)
    host.supervise(this, env.tag, error)
  }

  /**
   * Applies a supervisor restart, as a re-activation in place: published `<status>>warming`,
   * state back to the last checkpoint (the last answered state, see `unsaved`), no message
   * handled for `backoffMs`, `onActivate` run again, then `warming>active`. A handler still in
   * flight (a sibling restarted by `one_for_all`/`rest_for_one`) is given `shutdownMs` to
   * finish first; JavaScript cannot cancel it past that, so its reply may still go out.
   */
  restart(backoffMs: number, shutdownMs: number | "infinity" = 0): void {
    if (this.status === "stopped") return
    this.restarts++
    // already loading its checkpoint (activating, or restarting): that is the restart
    if (this.status === "warming") return
    const host = this.host
    const restore = () => {
      const last = this.checkpoints.lastAnswered
      this.state = last !== undefined ? JSON.parse(last) : host.definition.initialState({ tenant: this.tenant, id: this.id })
      this.ctx = null
    }
    restore()
    // no further message starts until the restart is done (the run loop and kick both check)
    this.pausedUntil = Number.POSITIVE_INFINITY
    host.transition(this, this.status, "warming", "restart")
    this.status = "warming"
    let ready: Promise<void> | undefined = undefined
    ready = this.ready = (async () => {
      await null // `ready` is assigned before the body reads it
      if (shutdownMs !== 0 && this.running) {
        await this.settle(shutdownMs)
        restore()
      }
      if (backoffMs > 0) await new Promise((r) => setTimeout(r, backoffMs))
      if (host.definition.onActivate && this.ready === ready) await host.definition.onActivate(this.context() as ActorContext<any>)
    })()
    const resume = () => {
      if (this.ready !== ready) return // superseded (another restart, or a stop)
      this.ready = null
      this.pausedUntil = 0
      if (this.status === "stopped") return
      host.transition(this, "warming", "active")
      this.status = "active"
      this.kick()
    }
    ready.then(resume, (e) => {
      host.node.log("warn", `onActivate of ${this.type}/${this.id} threw on restart: ${(e as Error)?.message ?? e}`)
      resume()
    })
  }

  /**
   * Stops taking messages and waits up to `timeoutMs` for the handler in flight (OTP's shutdown
   * timeout). Resolves true when nothing was running any more in time. The caller stops the cell.
   */
  async finishInFlight(timeoutMs: number | "infinity"): Promise<boolean> {
    this.pausedUntil = Number.POSITIVE_INFINITY
    this.ready = Promise.resolve() // never cleared: kick() starts nothing any more
    if (timeoutMs === 0) return !this.running
    return await this.settle(timeoutMs)
  }

  /** Waits until no handler runs (true) or `timeoutMs` passed (false). */
  private async settle(timeoutMs: number | "infinity"): Promise<boolean> {
    const deadline = timeoutMs === "infinity" ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs
    while (this.running && this.status !== "stopped") {
      if (Date.now() >= deadline) return false
      await new Promise((r) => setTimeout(r, 5))
    }
    return true
  }

  /** Writes the state if it changed since the last checkpoint, coalescing with a write in flight. */
  checkpointSoon(serialized?: string): void {
    this.checkpoints.soon(serialized ?? serialize(this.state))
  }

  /**
   * Writes now (if changed; always with `sleptAt` when passivating, or with `force` when the
   * activation ends elsewhere: hand-over, drain, stop, so its cost accounting is kept) and
   * resolves when stored (or the write failed).
   */
  async checkpointNow(sleptAt?: number, force = false): Promise<void> {
    await this.checkpoints.now(() => serialize(this.state), sleptAt, force)
  }

  /** A checkpoint write failed: the host logs it and stops this activation when fenced. */
  checkpointFailed(error: unknown): void {
    this.host.checkpointFailed(this, error)
  }

  /** The write of a checkpoint finished or the store recovered: run what waits. */
  resume(): void {
    if (this.status !== "stopped") this.kick()
  }

  /** Cost accounting of this actor across its incarnations, as of now. */
  accounting(sleptAt?: number): Accounting {
    const now = sleptAt ?? Date.now()
    return {
      activations: this.activations,
      activeMs: this.priorActiveMs + (now - this.activeSince),
      sleepingMs: this.sleepingMs,
      restarts: this.restarts,
      ...(sleptAt !== undefined ? { sleptAt } : {}),
    }
  }

  /** Takes over the accounting of earlier incarnations from a checkpoint. */
  restoreAccounting(acct: Accounting | undefined, now: number): void {
    if (!acct) return
    this.wokeFromSleep = acct.sleptAt !== undefined
    this.activations = acct.activations + 1
    this.priorActiveMs = acct.activeMs
    this.restarts = acct.restarts
    this.sleepingMs = acct.sleepingMs + (acct.sleptAt !== undefined ? Math.max(0, now - acct.sleptAt) : 0)
  }
}

export function serialize(state: unknown): string {
  return state === undefined ? "null" : JSON.stringify(state)
}
