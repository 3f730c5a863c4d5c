/**
 * One activation of one actor: its state, its bounded mailbox and the loop that handles one
 * message at a time in arrival order. A cell is created on the first message (virtual actors:
 * no spawn call), restores its last checkpoint, checkpoints changed state according to its
 * type's policy, and is dropped from memory when it passivates. A handler that throws never
 * takes the node down: the caller gets `handler_failed` and the supervisor decides.
 *
 * Storage comes before acknowledgement (checkpoints.ts): answers run at most `CHECKPOINT_LAG_MS`
 * ahead of storage under `after-change`, only stored state is answered under `before-reply`, and
 * a cell whose store fails answers `unavailable` until a write lands.
 *
 * Memory: an idle cell is a handful of fields (the mailbox buffer and the context object are
 * allocated on demand and released), so a node holds 100,000 idle actors comfortably.
 */
import type { Msg } from "@nats-io/nats-core"
import { encodeError, encodeOk, type LifecycleState } from "../../subjects/envelope.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { ActorContext } from "../agent/actor-context.ts"
import { Mailbox } from "./mailbox.ts"
import { parseIssues } from "../agent/protocol.ts"
import type { Accounting } from "./state-store.ts"
import { Checkpoints } from "./checkpoints.ts"
import type { AgentDefinition, CheckpointPolicy } from "../agent/define-agent.ts"
import type { CompiledTag } from "../agent/protocol.ts"
import type { StateStore } from "./state-store.ts"
import type { TypeStats } from "./type-stats.ts"
import { DURABLE_HEADER } from "../../subjects/cluster.ts"

/** A decoded message waiting in a mailbox. `msg` is kept for its reply subject. */
export interface Envelope {
  readonly tag: string
  readonly message: unknown
  readonly msg: Msg | undefined
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
  readonly stats: TypeStats
  readonly store: StateStore
  readonly node: { readonly id: string; log(level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>): void }
  transition(a: ActorAddress, from: LifecycleState | "stopped", to: LifecycleState, reason?: string): void
  reply(env: Envelope, body: Uint8Array): void
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

  /** Queues a message; false when the mailbox is full. */
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
    if (!this.mailbox.push(env)) return false
    if (this.status === "idle") {
      this.host.transition(this, "idle", "active")
      this.status = "active"
    }
    this.kick()
    return true
  }

  /** Refuses everything queued (used when the activation cannot go on). */
  rejectQueued(code: "unavailable" | "overloaded", message: string): number {
    const items = this.mailbox?.clear() ?? []
    for (const env of items) this.host.reply(env, encodeError(code, message))
    this.mailbox = null
    return items.length
  }

  /** Removes and returns everything queued (the cluster forwards it to the node holding the actor). */
  takeQueued(): Envelope[] {
    const items = this.mailbox?.clear() ?? []
    this.mailbox = null
    return items
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

  /** Handles one message; returns a promise only when something asynchronous is still going on. */
  private handle(env: Envelope): Promise<void> | undefined {
    const host = this.host
    if (env.tag === "_Wake") {
      host.reply(env, encodeOk({ type: this.type, id: this.id, status: this.status }))
      return undefined
    }
    if (env.tag === "_Inspect") {
      host.reply(env, encodeOk({ tenant: this.tenant, type: this.type, id: this.id, status: this.status, node: host.node.id, queued: this.queued, acct: this.accounting() }))
      return undefined
    }
    if (this.checkpoints.failing) {
      host.reply(env, encodeError("unavailable", `${this.type}/${this.id} cannot store its state right now (NATS unreachable or without quorum); retry`))
      return undefined
    }
    const handler = host.definition.handlers[env.tag] as (m: unknown, ctx: ActorContext) => unknown
    let result: unknown
    try {
      result = handler(env.message, this.context())
    } catch (error) {
      this.failed(env, error)
      return undefined
    }
    if (result !== null && typeof result === "object" && typeof (result as Promise<unknown>).then === "function") {
      return (result as Promise<unknown>).then(
        (value) => this.completed(env, value),
        (error) => this.failed(env, error),
      )
    }
    return this.completed(env, result)
  }

  private completed(env: Envelope, result: unknown): Promise<void> | undefined {
    const host = this.host
    if (this.status === "stopped") {
      // stopped while the handler ran (shutdown timeout passed, fenced): its change is not kept
      host.reply(env, encodeError("unavailable", `${this.type}/${this.id} was stopped while handling ${env.tag}; its change was not kept`))
      return undefined
    }
    const encoded = host.compiled.get(env.tag)!.encodeReply(result)
    if (encoded._tag === "Left") {
      host.stats.handlerFailures++
      host.reply(env, encodeError("handler_failed", `${host.definition.type}.${env.tag} returned a reply that does not fit its schema`, parseIssues(encoded.left)))
      host.supervise(this, env.tag, new Error("reply does not fit its schema"))
      return undefined
    }
    host.stats.handled++
    // durable mail (header Ants-Durable) is acked when the actor answers: its change must be stored first
    const durable = host.checkpointPolicy === "after-change" || host.checkpointPolicy === "on-passivate" ? env.msg?.headers?.has(DURABLE_HEADER) === true : false
    if (host.checkpointPolicy === "before-reply" || durable) {
      return this.checkpointNow().then(() => {
        // a fenced checkpoint stops this activation (another one owns the actor now): its answer must not go out
        if (this.status === "stopped") host.reply(env, encodeError("unavailable", `${this.type}/${this.id} moved to another activation; retry`))
        else if (!this.checkpoints.stores(serialize(this.state))) host.reply(env, encodeError("unavailable", `${this.type}/${this.id} could not store its state; retry`))
        else host.reply(env, encodeOk(encoded.right))
      })
    }
    // a tell has no one to answer: the reply was checked against its schema, not encoded
    if (env.msg?.reply) host.reply(env, encodeOk(encoded.right))
    if (host.checkpointPolicy === "after-change") this.checkpointSoon()
    return undefined
  }

  private failed(env: Envelope, error: unknown): void {
    const host = this.host
    host.stats.handlerFailures++
    const message = error instanceof Error ? error.message : String(error)
    host.reply(env, encodeError("handler_failed", `${host.definition.type}.${env.tag} failed: ${message}`))
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
  checkpointSoon(): void {
    this.checkpoints.soon(serialize(this.state))
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
