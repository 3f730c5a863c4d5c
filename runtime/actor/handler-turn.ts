/**
 * One message's turn in its actor's handler: the handler runs against its deadline (inside the
 * loop monitor's slot, or in the type's worker pool when offloaded), its reply is checked
 * against the schema, the new state against what can be stored, and the caller is answered
 * (after the checkpoint when the policy or durable mail asks for it). A throwing handler, a
 * timeout or an operator's reset ends in an error envelope and the supervisor's decision,
 * never a crash. The cell (cell.ts) runs the turns one at a time; this file only sees what
 * `TurnCell` lists of it.
 */
import type { Span } from "@opentelemetry/api"
import type { ErrorCode } from "../../subjects/envelope.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"
import { DURABLE_HEADER } from "../../subjects/cluster.ts"
import { errorCodeOf } from "../../subjects/errors.ts"
import type { ActorContext } from "../agent/actor-context.ts"
import type { AgentDefinition, CheckpointPolicy } from "../agent/define-agent.ts"
import { parseIssues, type CompiledTag } from "../agent/protocol.ts"
import { checkState, type StateLimits } from "../limits/state-check.ts"
import type { LoopMonitor } from "../cpu/loop-monitor.ts"
import { HandlerTimeoutError, type WorkerPool } from "../cpu/worker-pool.ts"
import type { Checkpoints } from "./checkpoints.ts"
import type { Envelope } from "./mailbox.ts"
import type { Accounting } from "./state-store.ts"
import type { TypeStats } from "./type-stats.ts"
import type { WakeHints } from "./wake-hints.ts"
import type { WakeRequest } from "../../subjects/wake.ts"
import { inSyncSpan, outsideSyncSpan, startTurnSpan, withTurnSpan } from "../observability/tracing.ts"
import { rawTraceParent } from "../observability/unsampled.ts"

/** Stands for the handler of an offloaded type when its turn is traced: it goes on asynchronously. */
const AsyncTurn = async () => undefined

/** What ends a handler that raced its deadline (or an operator's reset) and lost. */
export interface Abandon {
  readonly code: "timeout" | "unavailable"
  readonly reason: string
}

/** What a turn asks of the type's host (part of the cell's `CellHost`). */
export interface TurnHost {
  readonly definition: AgentDefinition
  readonly compiled: ReadonlyMap<string, CompiledTag>
  readonly checkpointPolicy: CheckpointPolicy
  /** What a stored state may be (bytes, depth). */
  readonly stateLimits: StateLimits
  /** The worker threads of an offloaded type. */
  readonly pool: WorkerPool | undefined
  readonly stats: TypeStats
  /** What wakes asked of the type's actors (keep-alive, auto-sleep). */
  readonly hints?: WakeHints
  readonly node: {
    readonly id: string
    readonly monitor: LoopMonitor
    /** The cluster's guard (activation-guard.ts `ActivationGuard`), absent without a cluster. */
    readonly guard?: { outOfTouch(): string | undefined }
  }
  /** How long a handler of `tag` may run. */
  deadlineOf(tag: string): number
  /** Answers ok (an ask) and counts the message handled; a reply over max_payload becomes `too_large`. */
  replyOk(env: Envelope, value: unknown): void
  /** Answers an error (an ask) and counts the message rejected with `code`. */
  replyError(env: Envelope, code: ErrorCode, message: string, details?: unknown): void
}

/** What a turn needs of its cell. */
export interface TurnCell extends ActorAddress {
  readonly key: string
  readonly host: TurnHost
  readonly status: string
  state: unknown
  readonly checkpoints: Checkpoints
  readonly queued: number
  /** Ends the handler in flight now (set while an async handler runs). */
  abandon: ((why: Abandon) => void) | undefined
  /** The turn in flight's controller of `ctx.signal`: undefined outside a turn, null until a handler reads it. */
  turnAbort: AbortController | null | undefined
  /** The message whose handler runs now (the context reads its headers, e.g. the stream it asked for). */
  current: Envelope | undefined
  context(): ActorContext
  accounting(): Accounting
  /** Writes the state now; `span`: the turn's, the parent of the checkpoint's span. */
  checkpointNow(sleptAt?: number, force?: boolean, span?: Span): Promise<void>
  checkpointSoon(serialized?: string, span?: Span): void
  /** The handler failed: the type's supervisor decides. */
  supervise(tag: string, error: unknown): void
  /** Frees the cell from a handler that cannot be waited for: restarts it from its last stored state. */
  restartStuck(reason: string): void
}

/**
 * `ctx.signal` of the turn in flight: aborted when the runtime gives up on the handler (its
 * deadline passed, an operator's reset freed the actor, the actor stopped or restarted while it
 * ran). JavaScript cannot stop a promise; a handler that hands the signal to what it awaits
 * (`fetch`, a timer, an SDK; `ctx.model` calls take it by themselves) stops instead of running
 * on unseen. Made only when a handler reads it; undefined outside a turn.
 */
export function turnSignal(cell: Pick<TurnCell, "turnAbort">): AbortSignal | undefined {
  if (cell.turnAbort === undefined) return undefined
  return (cell.turnAbort ??= new AbortController()).signal
}

/** Aborts the signal of the turn in flight (if any) with `reason`; it stays aborted for that turn. */
export function abortTurn(cell: Pick<TurnCell, "turnAbort">, reason: unknown): void {
  if (cell.turnAbort === undefined) return
  const c = (cell.turnAbort ??= new AbortController())
  if (!c.signal.aborted) c.abort(reason)
}

export function serialize(state: unknown): string {
  return state === undefined ? "null" : JSON.stringify(state)
}

/**
 * Handles one message; returns a promise only when something asynchronous is still going on.
 * The handler runs inside the loop monitor's slot (a long synchronous stretch is reported
 * naming this actor) and against its deadline: an async handler that passes it loses a race
 * (its caller gets `timeout`, the actor is restarted, the mailbox goes on; JavaScript cannot
 * stop the abandoned promise, whose late result is ignored); a synchronous one that overran
 * is treated the same once it returns. Offloaded types run in their worker pool.
 */
export function handleTurn(cell: TurnCell, env: Envelope): Promise<void> | undefined {
  const host = cell.host
  // traced: the turn runs in its span (what the handler sends is its child); the host's answer ends it
  if (env.trace !== undefined && env.span === undefined && (env.span = startTurnSpan(env.trace, cell, env.tag, host.node.id)) !== undefined) {
    // an offloaded turn goes on in a promise, as an async handler does (see withTurnSpan)
    return withTurnSpan(env.span, host.pool !== undefined ? AsyncTurn : host.definition.handlers[env.tag], () => runTurn(cell, env))
  }
  // an untraced turn run inside another message's dispatch (tracing on) does not take its span
  if (env.trace === undefined && inSyncSpan()) return outsideSyncSpan(() => runTurn(cell, env))
  return runTurn(cell, env)
}

/** `handleTurn` once the turn's span (if any) is set up. */
function runTurn(cell: TurnCell, env: Envelope): Promise<void> | undefined {
  const host = cell.host
  if (env.tag === "_Wake") {
    // a wake's body (checked by dispatch) may keep the actor awake or set its auto-sleep
    const asked = env.message === undefined ? undefined : host.hints?.note(cell.key, env.message as WakeRequest, Date.now())
    host.replyOk(env, { type: cell.type, id: cell.id, status: cell.status, ...(asked ? { lifecycle: asked } : {}) })
    return undefined
  }
  if (env.tag === "_Inspect") {
    host.replyOk(env, { tenant: cell.tenant, type: cell.type, id: cell.id, status: cell.status, node: host.node.id, queued: cell.queued, acct: cell.accounting() })
    return undefined
  }
  // admitted while the node was in touch, a message may have waited (queued behind a handler or
  // a checkpoint) past the moment it lost touch, when its actor may have moved: refused as now
  const away = host.node.guard?.outOfTouch()
  if (away !== undefined) {
    host.replyError(env, "unavailable", away)
    return undefined
  }
  if (cell.checkpoints.failing) {
    host.replyError(env, "unavailable", `${cell.type}/${cell.id} cannot store its state right now (NATS unreachable or without quorum); retry`)
    return undefined
  }
  const deadlineMs = host.deadlineOf(env.tag)
  const monitor = host.node.monitor
  let result: unknown
  cell.turnAbort = null
  monitor.enter(cell, env.tag)
  try {
    if (host.pool !== undefined) {
      result = host.pool
        .run({ tag: env.tag, message: env.message, state: cell.state, self: { tenant: cell.tenant, type: cell.type, id: cell.id } }, deadlineMs)
        .then((r) => {
          if (cell.status !== "stopped") cell.state = r.state
          return r.reply
        })
    } else {
      const handler = host.definition.handlers[env.tag] as (m: unknown, ctx: ActorContext) => unknown
      cell.current = env
      result = handler(env.message, cell.context())
    }
  } catch (error) {
    const ms = monitor.exit()
    cell.turnAbort = undefined
    if (ms > deadlineMs) timedOut(cell, env, deadlineMs, ms)
    else failed(cell, env, error)
    return undefined
  }
  const ms = monitor.exit()
  if (result !== null && typeof result === "object" && typeof (result as Promise<unknown>).then === "function") {
    if (ms > deadlineMs) {
      abortTurn(cell, new HandlerTimeoutError(env.tag, deadlineMs))
      cell.turnAbort = undefined
      timedOut(cell, env, deadlineMs, ms)
      return undefined
    }
    return race(cell, env, result as Promise<unknown>, deadlineMs)
  }
  cell.turnAbort = undefined
  if (ms > deadlineMs) {
    timedOut(cell, env, deadlineMs, ms)
    return undefined
  }
  return completed(cell, env, result)
}

/** An async handler against its deadline and against an operator's reset. */
function race(cell: TurnCell, env: Envelope, pending: Promise<unknown>, deadlineMs: number): Promise<void> | undefined {
  let settle!: (v: { ok: true; value: unknown } | { ok: false; error: unknown } | { abandoned: Abandon }) => void
  const outcome = new Promise<{ ok: true; value: unknown } | { ok: false; error: unknown } | { abandoned: Abandon }>((r) => (settle = r))
  pending.then(
    (value) => settle({ ok: true, value }),
    (error) => settle({ ok: false, error }),
  )
  // giving up on the handler aborts its signal at once, so what it awaits can stop too
  const abandon = (why: Abandon) => {
    abortTurn(cell, why.code === "timeout" ? new HandlerTimeoutError(env.tag, deadlineMs) : new Error(`${env.tag} was abandoned: ${why.reason}`))
    settle({ abandoned: why })
  }
  const timer = Number.isFinite(deadlineMs) ? setTimeout(() => abandon({ code: "timeout", reason: `did not finish within ${deadlineMs} ms` }), deadlineMs) : undefined
  cell.abandon = abandon
  return outcome.then((o) => {
    clearTimeout(timer)
    cell.abandon = undefined
    cell.turnAbort = undefined
    if ("abandoned" in o) return abandoned(cell, env, o.abandoned, deadlineMs)
    if (o.ok) return completed(cell, env, o.value)
    if ((o.error as { _tag?: string })?._tag === "HandlerTimeoutError") return timedOut(cell, env, deadlineMs, deadlineMs)
    return failed(cell, env, o.error)
  })
}

function abandoned(cell: TurnCell, env: Envelope, why: Abandon, deadlineMs: number): void {
  if (why.code === "timeout") return timedOut(cell, env, deadlineMs, deadlineMs)
  cell.host.replyError(env, "unavailable", `${cell.type}/${cell.id}: ${env.tag} was abandoned: ${why.reason}; its change was not kept`)
  cell.restartStuck(why.reason)
}

function timedOut(cell: TurnCell, env: Envelope, deadlineMs: number, ranMs: number): void {
  const host = cell.host
  host.stats.timeouts++
  const message = `${host.definition.type}.${env.tag} did not finish within ${deadlineMs} ms${ranMs > deadlineMs ? ` (it ran ${Math.round(ranMs)} ms)` : ""}; the actor is restarted`
  host.replyError(env, "timeout", message)
  cell.supervise(env.tag, new HandlerTimeoutError(env.tag, deadlineMs))
}

function completed(cell: TurnCell, env: Envelope, result: unknown): Promise<void> | undefined {
  const host = cell.host
  if (cell.status === "stopped") {
    // stopped while the handler ran (shutdown timeout passed, fenced): its change is not kept
    host.replyError(env, "unavailable", `${cell.type}/${cell.id} was stopped while handling ${env.tag}; its change was not kept`)
    return undefined
  }
  const encoded = host.compiled.get(env.tag)!.encodeReply(result)
  if (encoded._tag === "Left") {
    host.stats.handlerFailures++
    host.replyError(env, "handler_failed", `${host.definition.type}.${env.tag} returned a reply that does not fit its schema`, parseIssues(encoded.left))
    cell.supervise(env.tag, new Error("reply does not fit its schema"))
    return undefined
  }
  // only a state that can be stored is acknowledged: one that cannot (not JSON, too deep, too
  // large) fails the message and goes back to the last stored one; the actor keeps working
  let json: string | undefined
  if (host.checkpointPolicy !== "never") {
    const checked = checkState(cell.state, host.stateLimits)
    if (typeof checked !== "string") {
      host.stats.stateRefusals++
      rollback(cell)
      host.replyError(env, checked.limit === "bytes" ? "too_large" : "handler_failed", `${host.definition.type}.${env.tag}: the new state cannot be stored (${checked.message}); the actor's state is back to its last stored one`)
      return undefined
    }
    json = checked
  }
  host.stats.handled++
  // durable mail (header Ants-Durable) is acked when the actor answers: its change must be stored first
  // a header block that is the runtime's lone traceparent (read raw) holds no durable header: not parsed for it
  const durable = (host.checkpointPolicy === "after-change" || host.checkpointPolicy === "on-passivate") && env.msg !== undefined && rawTraceParent(env.msg) === undefined ? env.msg.headers?.has(DURABLE_HEADER) === true : false
  // a turn that ends while the node is out of touch (its actor may have moved meanwhile) answers
  // only once its change is stored: the new holder fenced the state, so a stale one stops instead
  const unsure = host.checkpointPolicy !== "never" && host.checkpointPolicy !== "before-reply" && !durable && host.node.guard?.outOfTouch() !== undefined
  if (host.checkpointPolicy === "before-reply" || durable || unsure) {
    return cell.checkpointNow(undefined, false, env.span).then(() => {
      // a fenced checkpoint stops this activation (another one owns the actor now): its answer must not go out
      if (cell.status === "stopped") host.replyError(env, "unavailable", `${cell.type}/${cell.id} moved to another activation; retry`)
      else if (!cell.checkpoints.stores(json ?? serialize(cell.state))) {
        rollback(cell)
        host.replyError(env, "unavailable", `${cell.type}/${cell.id} could not store its state; its change was not kept; retry`)
      } else host.replyOk(env, encoded.right)
    })
  }
  // a tell has no one to answer: the reply was checked against its schema, not encoded
  host.replyOk(env, encoded.right)
  if (host.checkpointPolicy === "after-change") cell.checkpointSoon(json, env.span)
  return undefined
}

/** Puts the state back to the last one stored (or queued for storing behind a write in flight). */
function rollback(cell: TurnCell): void {
  const last = cell.checkpoints.lastAnswered
  cell.state = last !== undefined ? JSON.parse(last) : cell.host.definition.initialState({ tenant: cell.tenant, id: cell.id })
}

function failed(cell: TurnCell, env: Envelope, error: unknown): void {
  const host = cell.host
  host.stats.handlerFailures++
  const message = error instanceof Error ? error.message : String(error)
  host.replyError(env, errorCodeOf(error), `${host.definition.type}.${env.tag} failed: ${message}`)
  cell.supervise(env.tag, error)
}
