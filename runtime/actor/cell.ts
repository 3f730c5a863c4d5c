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
 * One message's turn in the handler (deadline, reply, state check, answer) is handler-turn.ts.
 */
import type { Span } from "@opentelemetry/api"
import type { LifecycleState } from "../../subjects/envelope.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { ActorContext } from "../agent/actor-context.ts"
import { Mailbox, type Envelope } from "./mailbox.ts"
import type { Accounting, StateStore } from "./state-store.ts"
import { Checkpoints } from "./checkpoints.ts"
import type { MessageLedger } from "../limits/message-ledger.ts"
import type { LoopMonitor } from "../cpu/loop-monitor.ts"
import { CellClock } from "./cell-clock.ts"
import { abortTurn, handleTurn, serialize, type Abandon, type TurnHost } from "./handler-turn.ts"
import { spendTurn, turnsSpent } from "./turn-budget.ts"

export type CellStatus = LifecycleState | "stopped"
export { CHECKPOINT_LAG_MS } from "./checkpoints.ts"

/**
 * What a cell asks of its type's host (implemented by TypeHost): the cell calls down into it for
 * every side effect, and the host is the only one that creates cells, so neither file imports
 * the other's class.
 */
export interface CellHost extends TurnHost {
  readonly mailboxCapacity: number
  /** Bytes of message bodies one actor may have queued. */
  readonly mailboxBytes: number
  readonly store: StateStore
  readonly node: {
    readonly id: string
    log(level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>): void
    readonly ledger: MessageLedger
    readonly monitor: LoopMonitor
    readonly budget: { bytes: number; readonly max: number }
  }
  transition(a: ActorAddress, from: LifecycleState | "stopped", to: LifecycleState, reason?: string, sleptHere?: boolean): void
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

export class ActorCell extends CellClock implements ActorAddress {
  status: CellStatus = "cold"
  state: unknown = undefined
  /** Its checkpoints: what is stored, what is answered but not stored yet, the write in flight. */
  readonly checkpoints: Checkpoints = new Checkpoints(this)
  restarts = 0
  /** Accounting carried over from earlier incarnations (restored from the checkpoint). */
  activations = 1
  priorActiveMs = 0
  sleepingMs = 0
  /** Set by a checkpoint that says the actor last went to sleep (it passivated, maybe on another node). */
  wokeFromSleep = false
  private mailbox: Mailbox<Envelope> | null = null
  /** Ends the handler in flight now (its deadline passed, or a reset frees the actor). */
  abandon: ((why: Abandon) => void) | undefined
  turnAbort: AbortController | null | undefined = undefined
  private running = false
  private pausedUntil = 0
  private ctx: ActorContext | null = null
  /** The message whose handler runs now (the context reads its headers). */
  current: Envelope | undefined
  private ready: Promise<void> | null = null
  subscriptions: Array<{ unsubscribe(): void }> | null = null
  /** The lease the cluster holds for this activation, kept here: no record of its own (runtime/cluster/held-leases.ts). */
  leaseRevision = 0
  leaseRefreshedMs = 0

  constructor(
    readonly host: CellHost,
    readonly tenant: string,
    readonly id: string,
    readonly key: string,
  ) {
    super()
  }

  get type(): string {
    return this.host.definition.type
  }

  get queued(): number {
    return this.mailbox?.size ?? 0
  }

  /** Body bytes queued in the mailbox. */
  get queuedBytes(): number {
    return this.mailbox?.bytes ?? 0
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
    if (from === "sleeping") this.host.transition(this, from, "warming", undefined, true)
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
      if (this.mailbox.size > 0 && (this.mailbox.bytes + bytes > this.host.mailboxBytes || budget.bytes + bytes > budget.max)) return false
    }
    if (!this.mailbox.push(env)) return false
    if (bytes > 0) {
      this.mailbox.bytes += bytes
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

  /** Removes and returns everything queued, uncounted (local-actors.ts counts each: forwarded or refused). */
  takeQueued(): Envelope[] {
    return this.drainMailbox()
  }

  private drainMailbox(): Envelope[] {
    const mb = this.mailbox
    this.mailbox = null
    this.host.node.budget.bytes -= mb?.bytes ?? 0
    return mb?.clear() ?? []
  }

  private dequeued(mb: Mailbox<Envelope>, env: Envelope): void {
    const bytes = env.bytes ?? 0
    if (bytes > 0) {
      mb.bytes -= bytes
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
      !this.checkpoints.holding()
    )
  }

  private kick(): void {
    if (this.running || this.ready !== null || this.status === "warming" || this.status === "stopped" || this.checkpoints.holding()) return
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
          if (mb === null || this.status === "stopped" || (this.pausedUntil !== 0 && this.pausedUntil > Date.now()) || this.checkpoints.holding()) break
          // this loop turn has run its share of handlers: the rest of the mailbox goes on later
          if (mb.size > 0 && turnsSpent()) return void setImmediate(() => this.run())
          env = mb.shift()
          if (env === undefined) break
          this.dequeued(mb, env)
        }
        spendTurn()
        const pending = handleTurn(this, env)
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
    this.current = undefined // an idle actor keeps no message (its buffers view a whole socket read)
    this.ctx = null // nor a context (made again by the next message)
    this.ranSinceSweep()
    if (this.mailbox !== null && this.mailbox.size === 0) this.mailbox = null
    else if (this.status !== "stopped") this.kick()
    this.host.cellSettled(this)
  }

  /** Frees the actor from the handler in flight (an operator's reset): its caller gets `code`. */
  abandonInFlight(code: "timeout" | "unavailable", reason: string): boolean {
    if (this.abandon === undefined) return false
    this.abandon({ code, reason })
    return true
  }

  /** The handler failed: the type's supervisor decides. */
  supervise(tag: string, error: unknown): void {
    this.host.supervise(this, tag, error)
  }

  /** Frees the cell from a handler that cannot be waited for (see `CellHost.restartStuck`). */
  restartStuck(reason: string): void {
    this.host.restartStuck(this, reason)
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
      if (this.running) {
        // a handler still running past its shutdown time is abandoned: its ctx.signal says so
        if (shutdownMs === 0 || !(await this.settle(shutdownMs))) abortTurn(this, new Error(`${this.type}/${this.id} restarted while its handler ran`))
        if (shutdownMs !== 0) restore()
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
  checkpointSoon(serialized?: string, span?: Span): void {
    this.checkpoints.soon(serialized ?? serialize(this.state), span)
  }

  /**
   * Writes now (if changed; always with `sleptAt` when passivating, or with `force` when the
   * activation ends elsewhere: hand-over, drain, stop, so its cost accounting is kept) and
   * resolves when stored (or the write failed).
   */
  async checkpointNow(sleptAt?: number, force = false, span?: Span): Promise<void> {
    await this.checkpoints.now(() => serialize(this.state), sleptAt, force, span)
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
