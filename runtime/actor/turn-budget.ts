/**
 * Mailbox turns run since the event loop last reached its check phase, node-wide. A mailbox's
 * turns chain through microtasks (an async handler's promise resolving goes on with the next
 * message), which never give the loop back: one actor with a thousand messages queued would run
 * them all before any socket is read again, and every other actor and tenant would wait. Past
 * TURNS_PER_YIELD turns, a cell goes on from its mailbox in a later macrotask (setImmediate), so
 * other connections, timers and actors get the loop in between; the cell stays running (its
 * order is kept). A message handed over at once (nothing queued) is counted but never deferred.
 */
export const TURNS_PER_YIELD = 64

let turnsThisTurn = 0
let resetQueued = false
const resetTurns = () => {
  turnsThisTurn = 0
  resetQueued = false
}
export function spendTurn(): void {
  turnsThisTurn++
  if (!resetQueued) {
    resetQueued = true
    setImmediate(resetTurns)
  }
}

/** Whether this loop turn has run its share of mailbox turns (the cell defers the rest). */
export function turnsSpent(): boolean {
  return turnsThisTurn >= TURNS_PER_YIELD
}
