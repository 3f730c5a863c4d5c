/**
 * Asks each of N actors once, `concurrency` asks in flight, for scenarios and tests that need
 * every one of many actors activated. Tells would be cheaper, but a tell the node refuses (it
 * answers `unavailable` while it re-checks its leases after a silence, `overloaded` when a
 * mailbox is full) is gone without a word, and the actor it should have activated is missing
 * from what is measured next. An ask refused `unavailable`, `overloaded` or `timeout` is asked
 * again after a pause, until `deadlineMs` has passed: then this resolves with what is missing
 * instead of waiting on.
 */
import { isAskError } from "../runtime/client/messaging.ts"

export interface AskEachResult {
  /** Actors that answered. */
  readonly answered: number
  /** Asks repeated after a refusal or a timeout. */
  readonly retried: number
  /** Actors that never answered by the deadline (0 when all did). */
  readonly missing: number
  /** The last error seen, for a failure message. */
  readonly lastError: string | undefined
}

const RETRIED = new Set(["unavailable", "overloaded", "timeout"])

export async function askEach(
  n: number,
  ask: (i: number) => Promise<unknown>,
  o: { readonly concurrency?: number; readonly deadlineMs: number; readonly progress?: (answered: number) => void },
): Promise<AskEachResult> {
  const deadline = Date.now() + o.deadlineMs
  let next = 0
  let answered = 0
  let retried = 0
  let lastError: string | undefined
  let lastProgress = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= n) return
      for (;;) {
        try {
          await ask(i)
          answered++
          break
        } catch (e) {
          lastError = (e as Error).message
          if (!isAskError(e) || !RETRIED.has(e.code) || Date.now() > deadline) break
          retried++
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      if (o.progress && Date.now() - lastProgress > 500) {
        lastProgress = Date.now()
        o.progress(answered)
      }
      if (Date.now() > deadline) return
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, o.concurrency ?? 256) }, worker))
  return { answered, retried, missing: n - answered, lastError }
}
