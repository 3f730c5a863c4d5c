/**
 * Finds what blocks the event loop. JavaScript runs one handler at a time on a node's thread:
 * a handler that computes for 8 s delays every other actor of every tenant by 8 s. The cell
 * marks the actor it is about to run in a "currently running" slot (`enter`) and clears it when
 * the handler returns or yields (`exit`); a synchronous stretch longer than `thresholdMs` is
 * reported naming that actor. A timer also measures the loop's lag, which catches what no slot
 * covered (the synchronous part of an async handler after an await, runtime work), reported
 * with the actors whose handlers were in flight as suspects.
 *
 * The node turns a report into a supervisor event and a counter; containing the actor is the
 * worker pool's job (worker-pool.ts).
 */
import { performance } from "node:perf_hooks"

export interface RunningActor {
  readonly tenant: string
  readonly type: string
  readonly id: string
  readonly tag: string
}

export interface BlockReport {
  /** The actor whose handler ran synchronously that long, when the slot knew it. */
  readonly actor: RunningActor | undefined
  readonly blockedMs: number
  /** Actors whose (async) handlers were in flight when an unattributed lag was seen. */
  readonly suspects: ReadonlyArray<RunningActor>
}

export interface LoopMonitorOptions {
  /** A synchronous stretch (or loop lag) longer than this is reported. Default 200 ms. */
  readonly thresholdMs?: number
  /** How often the lag timer ticks. Default 100 ms. */
  readonly intervalMs?: number
  readonly onBlocked: (report: BlockReport) => void
}

export const LOOP_MONITOR_DEFAULTS = { thresholdMs: 200, intervalMs: 100 } as const

/** An actor as the cell knows itself (no allocation per message). */
export interface ActorRefLike {
  readonly tenant: string
  readonly type: string
  readonly id: string
}

export class LoopMonitor {
  private running: ActorRefLike | undefined
  private runningTag = ""
  private since = 0
  /** Set when a slot report covered the loop's last stall, so the lag timer does not report it twice. */
  private coveredUntil = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly inFlight = new Set<RunningActor>()
  readonly thresholdMs: number
  readonly intervalMs: number
  /** Reports so far. */
  blocked = 0
  /** The longest block seen, in ms. */
  worstMs = 0

  constructor(private readonly options: LoopMonitorOptions) {
    this.thresholdMs = options.thresholdMs ?? LOOP_MONITOR_DEFAULTS.thresholdMs
    this.intervalMs = options.intervalMs ?? LOOP_MONITOR_DEFAULTS.intervalMs
  }

  /** Marks `actor` as running `tag` now (before its handler is called). */
  enter(actor: ActorRefLike, tag: string): void {
    this.running = actor
    this.runningTag = tag
    this.since = performance.now()
  }

  /** The handler returned (or yielded at its first await). Returns the synchronous time in ms. */
  exit(): number {
    const actor = this.running
    if (actor === undefined) return 0
    this.running = undefined
    const now = performance.now()
    const ms = now - this.since
    if (ms > this.thresholdMs) {
      this.coveredUntil = now
      this.report({ actor: { tenant: actor.tenant, type: actor.type, id: actor.id, tag: this.runningTag }, blockedMs: ms, suspects: [] })
    }
    return ms
  }

  /** An async handler is in flight (its later synchronous parts are not covered by the slot). */
  began(actor: RunningActor): void {
    this.inFlight.add(actor)
  }

  ended(actor: RunningActor): void {
    this.inFlight.delete(actor)
  }

  start(): void {
    if (this.timer !== undefined) return
    let last = performance.now()
    this.timer = setInterval(() => {
      const now = performance.now()
      const lag = now - last - this.intervalMs
      last = now
      // a stall that ended with a slot report (the slot's exit ran inside the stall) is covered
      if (lag > this.thresholdMs && now - this.coveredUntil > lag) {
        this.report({ actor: undefined, blockedMs: lag, suspects: [...this.inFlight].slice(0, 10) })
      }
    }, this.intervalMs)
    this.timer.unref?.()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private report(r: BlockReport): void {
    this.blocked++
    if (r.blockedMs > this.worstMs) this.worstMs = r.blockedMs
    try {
      this.options.onBlocked(r)
    } catch {
      // a reporting failure must not break the handler path
    }
  }
}
