/**
 * Everything a node keeps for one hosted agent type: the definition and its compiled codecs,
 * the live activations, the type's availability (a type whose supervisor gave up answers
 * `unavailable` on this node) and its counters. Cells call back into the host for every side
 * effect (replies, lifecycle events, checkpoints, supervision), so the cell stays small.
 */
import type { Msg } from "@nats-io/nats-core"
import { encodeError, encodeOk, type ErrorCode, type LifecycleState } from "../../subjects/envelope.ts"
import { lifecycleSubject, supervisorSubject, type ActorAddress } from "../../subjects/grammar.ts"
import type { ActorContext } from "../agent/actor-context.ts"
import { ActorCell } from "./cell.ts"
import { ActorCells } from "./actor-cells.ts"
import type { Envelope } from "./mailbox.ts"
import { WorkerPool } from "../cpu/worker-pool.ts"
import type { StateLimits } from "../limits/state-check.ts"
import { actorKey } from "../../subjects/inbound.ts"
import { askLatencyObserver } from "../observability/collected-metric.ts"
import { endSpan } from "../observability/tracing.ts"
/** Bytes a checkpoint adds around the state (`{"v":1,"state":…,"at":…,"node":…,"acct":{…}}`), with room to spare. */
const CHECKPOINT_OVERHEAD_BYTES = 1024
import { makeActorContext } from "./context.ts"
import { abortTurn } from "./handler-turn.ts"
import type { AgentDefinition, CheckpointPolicy } from "../agent/define-agent.ts"
import type { CompiledTag } from "../agent/protocol.ts"
import type { StateStore } from "./state-store.ts"
import { migrateOnActivation } from "./state-migration.ts"
import { WakeHints } from "./wake-hints.ts"
import { SleepingActors } from "./sleeping-actors.ts"
import { flatString, sharedName } from "../limits/compact-fields.ts"
import { mayPassivate, warmPoolIds } from "./lifecycle-policy.ts"
import type { HostNode, TypeStats } from "./host-node.ts"
import type { CellHost } from "./cell.ts"

const encoder = new TextEncoder()

export type { HostNode, TypeStats }

export class TypeHost implements CellHost {
  readonly cells = new ActorCells()
  readonly compiled: ReadonlyMap<string, CompiledTag>
  readonly stats: TypeStats = {
    activations: 0,
    passivations: 0,
    handled: 0,
    handlerFailures: 0,
    restarts: 0,
    checkpoints: 0,
    checkpointFailures: 0,
    activeMs: 0,
    sleepingMs: 0,
    loopBlocks: 0,
    timeouts: 0,
    stateRefusals: 0,
  }
  /** Actors of this type asleep on this node: one goes when it wakes here or its partition moves (`forgetSleeping`). */
  readonly sleeping = new SleepingActors(this.stats)
  /** Set when the type's supervisor gave up: the type answers `unavailable` with this reason. */
  unavailable: string | undefined
  readonly checkpointPolicy: CheckpointPolicy
  readonly passivateAfterMs: number
  /** Ids of the type's warm pool (kept active, never passivated). */
  readonly poolIds: ReadonlySet<string>
  /** Cell keys (`actorKey`) of singleton actors run by supervisor workers: never passivated. */
  readonly pinned = new Set<string>()
  readonly hints = new WakeHints() // what wakes asked of this type's actors here (keep-alive, auto-sleep)
  /** Cells activated or turned active since the lifecycle sweep last found them idle (runtime/node/lifecycle-sweep.ts); the load reporter reads their mail. */
  readonly recent = new Set<ActorCell>()
  private reviveTimer: ReturnType<typeof setTimeout> | undefined
  private readonly passivations = new WeakMap<ActorCell, Promise<void>>()
  /** Bytes of message bodies one actor may have queued. */
  readonly mailboxBytes: number
  /** The worker threads of an offloaded type (runtime/cpu/worker-pool.ts). */
  readonly pool: WorkerPool | undefined
  /** What a checkpoint can hold (the server's max_payload less the checkpoint's own fields) and how deep. */
  readonly stateLimits: StateLimits
  private readonly deadlines: ReadonlyMap<string, number>
  private readonly defaultDeadline: number
  private readonly observeAsk: ((tag: string, at: number | undefined) => void) | undefined

  constructor(
    readonly definition: AgentDefinition,
    readonly node: HostNode,
    readonly mailboxCapacity: number,
    passivateAfterMs: number,
  ) {
    this.compiled = definition.protocol.compiled
    this.checkpointPolicy = definition.checkpoint ?? "after-change"
    this.passivateAfterMs = definition.passivateAfterMs ?? passivateAfterMs
    this.poolIds = new Set(warmPoolIds(definition))
    this.mailboxBytes = definition.mailboxBytes ?? node.limits.mailboxBytes
    this.stateLimits = { maxBytes: Math.max(1024, node.limits.maxPayload - CHECKPOINT_OVERHEAD_BYTES), maxDepth: node.limits.maxDepth }
    const t = definition.handlerTimeoutMs
    this.defaultDeadline = (typeof t === "number" ? t : t?.default) ?? node.limits.handlerTimeoutMs
    this.deadlines = new Map(typeof t === "object" ? Object.entries(t.tags ?? {}) : [])
    this.pool = definition.offload ? new WorkerPool(definition.offload, (l, m) => node.log(l, m)) : undefined
    this.observeAsk = askLatencyObserver(node.askLatency, definition.type)
  }

  /** How long a handler of `tag` may run. */
  deadlineOf(tag: string): number {
    return this.deadlines.get(tag) ?? this.defaultDeadline
  }

  /** Whether an idle actor may passivate at `now` (keep-alive) and `calendar` (tiers, pool, business hours: the node's clock). */
  mayPassivate(cell: ActorCell, now: number, calendar = now): boolean {
    return !this.pinned.has(cell.key) && !this.hints.keepsAwake(cell.key, now) && mayPassivate(this.definition, this.poolIds, cell.id, calendar)
  }

  get store(): StateStore {
    return this.node.store
  }

  /** The live cell of an id, activating it (cold or from sleep) when there is none. */
  cell(tenant: string, id: string, key: string = actorKey(tenant, id)): ActorCell {
    let cell = this.cells.get(key)
    if (cell === undefined) {
      // kept while the actor is active or asleep here: flat strings (limits/compact-fields.ts)
      this.cells.set((key = flatString(key)), (cell = new ActorCell(this, sharedName(tenant), flatString(id), key)))
      this.recent.add(cell)
      this.stats.activations++
      const slept = this.sleeping.delete(key)
      cell.activate(slept ? "sleeping" : "cold")
    }
    return cell
  }

  /** Loads the last checkpoint (or the initial state) into a warming cell. */
  async restore(cell: ActorCell): Promise<void> {
    // the tenant's own connection before anything of the actor runs (its handlers act through it)
    await this.node.scopes?.open(cell.tenant)
    // the lease first: a node that cannot have the actor must not even read its state
    const tookOver = this.node.guard ? await this.node.guard.acquire(cell) : false
    const initial = () => this.definition.initialState({ tenant: cell.tenant, id: cell.id })
    // after a lease takeover the previous holder may only be stalled: fence it out by rewriting the state now
    const cp = this.checkpointPolicy === "never" ? undefined : tookOver ? await this.store.takeOver(cell, initial) : await this.store.load(cell)
    if (cp !== undefined) {
      // state written by an older version of the type is migrated (and stored); a newer one is refused
      const m = await migrateOnActivation(this.definition, this.store, cell, cp, this.node.id)
      cell.state = m.state
      cell.checkpoints.restored(m.revision, JSON.stringify(m.state ?? null))
      cell.restoreAccounting(cp.acct, Date.now())
    } else {
      cell.state = initial()
    }
    if (this.definition.onActivate) await this.definition.onActivate(cell.context() as ActorContext<any>)
  }

  activationFailed(cell: ActorCell, error: unknown): void {
    if (this.node.guard?.refused(cell, error)) {
      // active on another node: the guard forwarded what was queued there
      cell.status = "stopped"
      this.cells.delete(cell.key)
      this.transition(cell, "warming", "cold", (error as Error).message)
      this.node.settled()
      return
    }
    this.node.guard?.release(cell)
    const reason = `activation of ${this.definition.type}/${cell.id} failed: ${(error as Error)?.message ?? String(error)}`
    this.node.log("error", reason)
    cell.status = "stopped"
    this.cells.delete(cell.key)
    cell.rejectQueued("unavailable", reason)
    this.transition(cell, "warming", "cold", reason)
    this.node.settled()
  }

  checkpointFailed(cell: ActorCell, error: unknown): void {
    this.stats.checkpointFailures++
    const fenced = (error as { _tag?: string })?._tag === "StateFencedError"
    // a cell already failing retries quietly; the first failure and its recovery are logged
    if (fenced || !cell.checkpoints.failing) {
      this.node.log(fenced ? "warn" : "error", `checkpoint of ${this.definition.type}/${cell.id} failed: ${(error as Error)?.message}${fenced ? "" : "; answering unavailable until a write lands"}`)
    }
    if (fenced) {
      // Another activation owns this actor now: this one must not go on with stale state.
      this.stop(cell, "fenced: another activation wrote this actor's state")
    }
  }

  /** Stops and forgets a cell; what it had queued gets `unavailable`. */
  stop(cell: ActorCell, reason: string): void {
    if (cell.status === "stopped") return
    const from = cell.status as LifecycleState
    cell.status = "stopped"
    abortTurn(cell, new Error(`${this.definition.type}/${cell.id} stopped: ${reason}`))
    this.stats.activeMs += Date.now() - cell.activeSince
    this.cells.delete(cell.key)
    this.unsubscribeCell(cell)
    this.node.guard?.release(cell)
    cell.rejectQueued("unavailable", `${this.definition.type}/${cell.id} stopped: ${reason}`)
    this.transition(cell, from, "cold", reason)
  }

  /**
   * Checkpoints, runs onPassivate and drops the cell (idle → sleeping). One passivation at a time
   * per actor, whoever asks (the lifecycle sweep, the pool keeper): a call while one runs gets its promise.
   */
  passivate(cell: ActorCell): Promise<void> {
    let p = this.passivations.get(cell)
    if (p === undefined) this.passivations.set(cell, (p = this.sleep(cell).finally(() => this.passivations.delete(cell))))
    return p
  }

  /** Whether a passivation of `cell` has started and not yet settled. */
  passivating(cell: ActorCell): boolean {
    return this.passivations.has(cell)
  }

  private async sleep(cell: ActorCell): Promise<void> {
    if (cell.busy || cell.status !== "idle") return
    if (this.definition.onPassivate) {
      try {
        await this.definition.onPassivate(cell.context() as ActorContext<any>)
      } catch (e) {
        this.node.log("warn", `onPassivate of ${this.definition.type}/${cell.id} threw: ${(e as Error).message}`)
      }
    }
    const sleptAt = Date.now()
    if (this.checkpointPolicy !== "never") await cell.checkpointNow(sleptAt)
    // a message may have arrived while we were writing
    if (cell.busy || cell.status !== "idle") return
    cell.status = "stopped"
    this.cells.delete(cell.key)
    this.unsubscribeCell(cell)
    this.node.guard?.release(cell)
    this.sleeping.add(cell.key)
    this.hints.forget(cell.key)
    this.stats.passivations++
    this.stats.activeMs += Date.now() - cell.activeSince
    this.transition(cell, "idle", "sleeping")
  }

  /** The tenant and id of every actor of this type asleep here. */
  sleepingActors(): Iterable<{ readonly tenant: string; readonly id: string }> {
    return this.sleeping.actors()
  }

  /**
   * Forgets the sleeping actors for which `keep(id)` is false (their partition moved to another
   * node, which wakes them from now on; their sleep until now stays booked here, and the new
   * holder books the actor's own accounting from its checkpoint). Returns how many were dropped.
   */
  forgetSleeping(keep: (id: string) => boolean): number {
    // not published (the actor did not change), but its sleep is no longer booked here
    return this.sleeping.forget(keep, (a) => this.node.transitioned?.({ ...a, type: this.definition.type }, "sleeping", "cold", "moved", true))
  }

  supervise(cell: ActorCell, tag: string, error: unknown): void {
    // the supervisor publishes its decision on ants._sys.supervisor.<tenant>.<type>.<id>
    const decision = this.node.supervisor.actorFailed(this.definition.type, cell, error)
    const reason = `${tag}: ${(error as Error)?.message ?? String(error)}`
    switch (decision.directive) {
      case "resume":
        break
      case "restart":
        this.stats.restarts++
        cell.restart(decision.backoffMs ?? 0)
        break
      case "stop":
      case "escalate":
        this.stop(cell, reason)
        break
    }
    if (decision.typeGaveUp !== undefined) this.giveUp(decision.typeGaveUp)
  }

  /**
   * The type's supervisor stopped it (it gave up, or a sibling's restart takes it down): answer
   * `unavailable` from now on and stop every activation, each given `shutdownMs` to finish its
   * handler in flight (see `shutdown`).
   */
  giveUp(reason: string, shutdownMs: number | "infinity" = 0): void {
    clearTimeout(this.reviveTimer)
    this.reviveTimer = undefined
    if (this.unavailable !== undefined) return
    this.unavailable = reason
    this.node.log("error", `agent type ${this.definition.type} is unavailable on node ${this.node.id}: ${reason}`)
    for (const cell of [...this.cells.values()]) void this.shutdown(cell, reason, shutdownMs)
  }

  /**
   * The type's supervisor restarted it: serve again after `delayMs` (the supervisor's restart
   * backoff); until then messages are answered `unavailable` with the reason.
   */
  revive(delayMs = 0): void {
    clearTimeout(this.reviveTimer)
    this.reviveTimer = undefined
    if (this.unavailable === undefined) return
    if (delayMs > 0) {
      this.unavailable = `restarting by its supervisor, available again in ${delayMs} ms (was: ${this.unavailable})`
      this.reviveTimer = setTimeout(() => this.revive(0), delayMs)
      this.reviveTimer.unref?.()
      return
    }
    this.node.log("info", `agent type ${this.definition.type} is available again on node ${this.node.id}`)
    this.unavailable = undefined
  }

  /**
   * Stops a cell as OTP stops a child: no new message starts, the handler in flight gets up to
   * `shutdownMs` to finish (then the state it left is checkpointed, with the cost accounting);
   * past that, or with `0`, the cell is stopped at once (brutal kill: the last checkpoint is
   * what stays). Whatever is still queued is answered `unavailable`.
   */
  async shutdown(cell: ActorCell, reason: string, shutdownMs: number | "infinity"): Promise<void> {
    if (cell.status === "stopped") return
    const finished = await cell.finishInFlight(shutdownMs)
    if (finished && shutdownMs !== 0 && this.checkpointPolicy !== "never" && (cell.status as string) !== "stopped") {
      await cell.checkpointNow(undefined, true).catch(() => undefined)
    }
    this.stop(cell, reason)
  }

  /** A supervisor restarts a singleton actor it runs as a worker (state back to its checkpoint). */
  restartActor(cell: ActorCell, delayMs: number, shutdownMs: number | "infinity"): void {
    if (cell.status === "stopped") return
    this.stats.restarts++
    cell.restart(delayMs, shutdownMs)
  }

  /** Publishes a transition. `sleptHere`: a wake of an actor that passivated on this node. */
  transition(a: ActorAddress, from: LifecycleState | "stopped", to: LifecycleState, reason?: string, sleptHere?: boolean): void {
    if (from === "stopped") return
    if (to === "active" && a instanceof ActorCell) this.recent.add(a)
    this.publish(lifecycleSubject(a), { from, to, node: this.node.id, at: new Date().toISOString(), ...(reason ? { reason } : {}) })
    this.node.transitioned?.(a, from, to, reason, sleptHere)
  }

  /**
   * Answers `ok` (an ask) and counts the message handled. A reply too large for the server is
   * answered `too_large` instead of being dropped on the way (the handler's change is kept).
   */
  replyOk(env: Envelope, value: unknown): void {
    const msg: Msg | undefined = env.msg
    if (msg === undefined || !(env.reply ?? msg.reply)) {
      this.node.ledger.handled(env.ticket)
      endSpan(env.span)
      return
    }
    const body = encodeOk(value)
    if (body.length > this.node.limits.maxPayload) {
      this.replyError(env, "too_large", `the reply of ${this.definition.type}.${env.tag} is ${body.length} bytes, over the server's max_payload of ${this.node.limits.maxPayload}; the handler's change is kept`)
      return
    }
    this.node.ledger.handled(env.ticket)
    this.respond(msg, body)
    this.observeAsk?.(env.tag, env.at)
    endSpan(env.span)
  }

  /** Answers an error envelope (an ask) and counts the message rejected with `code`. */
  replyError(env: Envelope, code: ErrorCode, message: string, details?: unknown): void {
    this.node.ledger.rejected(env.ticket, code)
    const msg: Msg | undefined = env.msg
    if (msg !== undefined && (env.reply ?? msg.reply)) {
      this.respond(msg, encodeError(code, message, details))
      this.observeAsk?.(env.tag, env.at)
    }
    endSpan(env.span, message, code)
  }

  private respond(msg: Msg, body: Uint8Array): void {
    try {
      msg.respond(body)
    } catch (e) {
      // a closed connection during shutdown must not break the cell
      this.node.log("warn", `could not answer ${msg.subject}: ${(e as Error).message}`)
    }
  }

  /** The loop monitor saw a handler of this type hold the event loop: count it and say so as a supervisor event. */
  blocked(actor: ActorAddress & { readonly tag: string }, blockedMs: number): void {
    this.stats.loopBlocks++
    const reason = `${actor.tag} blocked the event loop for ${Math.round(blockedMs)} ms (every actor on node ${this.node.id} waited); consider \`offload\` for CPU-bound handlers`
    this.node.log("warn", `${this.definition.type}/${actor.id}: ${reason}`)
    this.publish(supervisorSubject(actor), { directive: "resume", reason, restarts: this.cells.get(actorKey(actor.tenant, actor.id))?.restarts ?? 0, node: this.node.id, at: new Date().toISOString(), supervisor: `${this.definition.type}` })
  }

  /**
   * Frees a cell whose handler cannot be waited for (an operator's reset): the handler's caller
   * is answered, the cell restarts from its last stored state and its mailbox goes on.
   */
  restartStuck(cell: ActorCell, reason: string): void {
    if (cell.status === "stopped") return
    this.stats.restarts++
    this.node.log("warn", `${this.definition.type}/${cell.id} restarted: ${reason}`)
    cell.restart(0)
  }

  /** An operator reset the type: actors stuck in a handler are freed (restarted). Returns how many. */
  resetStuck(reason: string): number {
    let n = 0
    for (const cell of this.cells.values()) if (cell.abandonInFlight("unavailable", reason)) n++
    return n
  }

  /** A cell's run loop ended (it has just marked its activity for the sweep). */
  cellSettled(_cell: ActorCell): void {
    this.node.settled()
  }

  makeContext(cell: ActorCell): ActorContext {
    return makeActorContext(cell, this.node)
  }

  unsubscribeCell(cell: ActorCell): void {
    if (cell.subscriptions === null) return
    for (const s of cell.subscriptions) s.unsubscribe()
    cell.subscriptions = null
  }

  private publish(subject: string, event: unknown): void {
    try {
      this.node.nc.publish(subject, encoder.encode(JSON.stringify(event)))
    } catch (e) {
      // a closed connection during shutdown must not break the caller
      this.node.log("warn", `could not publish ${subject}: ${(e as Error).message}`)
    }
  }
}
