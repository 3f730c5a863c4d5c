/**
 * How long mailboxes may run handlers in one event-loop turn, node-wide. A mailbox's turns
 * chain through microtasks (an async handler's promise resolving goes on with the next
 * message), which never give the loop back: one actor with a thousand messages queued would run
 * them all before any socket is read again, and every other actor and tenant would wait. Past
 * TURN_BUDGET_MS of handler turns since the loop's last check phase, a cell goes on from its
 * mailbox in a later macrotask (setImmediate), so other connections, timers and actors get the
 * loop in between; the cell stays running (its order is kept). A message handed over at once
 * (nothing queued) is counted but never deferred. The budget is time, not a count, so a backlog
 * of cheap turns drains faster than one read slice (about 60 messages) refills it; the clock is
 * read once every CLOCK_EVERY turns.
 */
export const TURN_BUDGET_MS = 1
const CLOCK_EVERY = 16

let turns = 0
let since = 0
let resetQueued = false
const reset = () => {
  turns = 0
  resetQueued = false
}

/** Counts a handler turn against this loop turn's budget. */
export function spendTurn(): void {
  if (!resetQueued) {
    resetQueued = true
    since = performance.now()
    setImmediate(reset)
  }
  turns++
}

/** Whether this loop turn has spent its budget on mailboxes (the cell defers the rest). */
export function turnsSpent(): boolean {
  return turns % CLOCK_EVERY === 0 && turns > 0 && performance.now() - since >= TURN_BUDGET_MS
}
