/**
 * The lifecycle loop's sweep (runtime/node/lifecycle-loop.ts): which actors go idle and which
 * passivate, at a cost per tick that follows the actors at work, not the actors a node holds.
 *
 * - Every tick, the actors activated or turned active since the sweep last found them idle (each
 *   type host's `recent` set, filled by its activations and transitions): the end of their last
 *   turn stamped, and flipped to idle `idleAfterMs` after it.
 * - Every tick, a slice of each type's actors, whatever their state, so that each is visited at
 *   least once per cycle: a tenth of the type's `passivateAfterMs`, between one tick and
 *   `SWEEP_CYCLE_MAX_MS`. An idle actor passivates at most one cycle after it is due (a keep-alive
 *   ended, an auto-sleep come, a window closed). A type with no more than `SWEEP_SLICE_MIN` actors
 *   on the node is swept whole on every tick.
 *
 * Sweeping every actor on every tick was 16.6% of the samples of a node holding 100,000 idle
 * actors at a 50 ms tick (bench/README.md, the scale scenario's loaded ask rate).
 */
import type { ActorCell } from "../actor/cell.ts"
import type { TypeHost } from "../actor/type-host.ts"

/** A type with at most this many actors on the node is swept whole on every tick. */
export const SWEEP_SLICE_MIN = 2048
/** The longest a type's idle actors wait between two visits. */
export const SWEEP_CYCLE_MAX_MS = 10_000

/** What the sweep needs of a type host. */
export type SweptHost = Pick<TypeHost, "cells" | "recent" | "passivateAfterMs" | "transition" | "mayPassivate" | "passivate" | "passivating" | "hints" | "definition">

export interface SweepOptions {
  readonly idleAfterMs: number
  readonly tickMs: number
  /** Told when a passivation fails (the actor stays idle and is tried again at a later visit). */
  readonly failed: (host: SweptHost, cell: ActorCell, e: unknown) => void
}

/** The sweep, called once a tick with the system clock (`real`) and the node's clock (`calendar`). */
export function lifecycleSweep(o: SweepOptions): (hosts: Iterable<SweptHost>, real: number, calendar: number) => void {
  const visit = (host: SweptHost, cell: ActorCell, real: number, calendar: number): void => {
    if (cell.busy) return
    // a run of its mailbox ended since the last visit: it was at work until about now
    cell.stampActivity(real)
    if (cell.status === "active" && real - cell.lastActivity >= o.idleAfterMs) {
      cell.status = "idle"
      host.transition(cell, "active", "idle")
    }
    if (cell.status !== "idle") return
    const due = real - cell.lastActivity >= host.passivateAfterMs || host.hints.sleepDue(cell.key, real)
    // one passivation at a time per actor (the host's guard): a visit while one runs starts none and is not told of its failure again
    if (!due || host.passivating(cell) || !host.mayPassivate(cell, real, calendar)) return
    void host.passivate(cell).catch((e: unknown) => o.failed(host, cell, e))
  }

  /** Each large type's pass over its actors in progress: where it is and how many it visits a tick. */
  const passes = new WeakMap<SweptHost, { readonly it: Iterator<ActorCell>; readonly budget: number }>()
  const slice = (host: SweptHost, real: number, calendar: number): void => {
    let pass = passes.get(host)
    if (pass === undefined) {
      const n = host.cells.size
      const cycle = Math.min(SWEEP_CYCLE_MAX_MS, Math.max(o.tickMs, host.passivateAfterMs / 10))
      // fixed for the pass, so that actors leaving meanwhile (passivated) do not slow it down
      const budget = Math.max(SWEEP_SLICE_MIN, Math.ceil((n * o.tickMs) / cycle))
      if (n <= budget) {
        for (const cell of host.cells.values()) visit(host, cell, real, calendar)
        return
      }
      // a Map's iterator goes on past entries deleted and reaches entries added: the pass resumes where it stopped
      passes.set(host, (pass = { it: host.cells.values(), budget }))
    }
    for (let i = 0; i < pass.budget; i++) {
      const r = pass.it.next()
      if (r.done) return void passes.delete(host)
      visit(host, r.value, real, calendar)
    }
  }

  return (hosts, real, calendar) => {
    for (const host of hosts) {
      for (const cell of host.recent) {
        visit(host, cell, real, calendar)
        // a cell leaving its host is marked stopped first: the status alone says it is done here
        if (cell.status === "idle" || cell.status === "stopped") host.recent.delete(cell)
      }
      slice(host, real, calendar)
    }
  }
}
