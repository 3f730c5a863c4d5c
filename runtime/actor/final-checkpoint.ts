/**
 * The last checkpoint of an activation that ends on this node (a hand-over to another node, a
 * drain): a few tries spaced by the runtime's one backoff (supervisors/backoff.ts: 100 ms, then
 * doubling, jittered), then a clear error. A store that stays unreachable must neither keep a
 * leaving node from exiting (it used to retry for as long as the hand-over lasted) nor let the
 * activation end as if its state were stored: the error says what was not kept.
 */
import { TaggedError } from "../../subjects/errors.ts"
import { backoffDelay } from "../../supervisors/backoff.ts"
import type { Backoff } from "../../supervisors/spec.ts"
import type { ActorCell } from "./cell.ts"
import { serialize } from "./handler-turn.ts"

export const FINAL_CHECKPOINT = {
  /** Writes tried before giving up. */
  tries: 4,
  backoff: { initialMs: 100, maxMs: 1_000, multiplier: 2, jitter: 0.2 } satisfies Backoff,
} as const

export class CheckpointGaveUpError extends TaggedError("CheckpointGaveUpError") {
  constructor(
    readonly actor: string,
    readonly tries: number,
    readonly revision: number,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? "unknown error")
    super(
      `the last checkpoint of ${actor} could not be stored after ${tries} tries (${why}); the activation ends without it: ` +
        `the next one restores revision ${revision}, and changes answered but not stored since then are lost`,
      options,
    )
  }
}

type Finishing = Pick<ActorCell, "type" | "id" | "status" | "state" | "checkpoints" | "checkpointNow" | "busy">

/**
 * Stores the cell's state (forced: its cost accounting too), trying up to `tries` times. Resolves
 * once stored, or when the activation stopped meanwhile (fenced: the state is another's to
 * store); rejects with a `CheckpointGaveUpError` after the last try.
 */
export async function finalCheckpoint(cell: Finishing, o: { readonly tries: number; readonly backoff: Backoff } = FINAL_CHECKPOINT): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await cell.checkpointNow(undefined, true)
    if (cell.status === "stopped") return
    // a message that ran meanwhile (one still forwarded here while the actor moves) changed the
    // state after the write: not a failure; the caller waits for it and checkpoints again
    if (!cell.checkpoints.failing && (cell.checkpoints.stores(serialize(cell.state)) || cell.busy)) return
    if (attempt + 1 >= o.tries) throw new CheckpointGaveUpError(`${cell.type}/${cell.id}`, o.tries, cell.checkpoints.revision, { cause: cell.checkpoints.lastError })
    await new Promise((r) => setTimeout(r, backoffDelay(o.backoff, attempt, Math.random())))
  }
}
