/**
 * The checkpoints of one activation: what is stored (`saved`, at `revision`), what was answered
 * but is not stored yet, and the one write in flight (later changes coalesce behind it).
 *
 * Storage comes before acknowledgement:
 * - under `after-change` the cell answers before its write lands, but never more than
 *   `CHECKPOINT_LAG_MS` ahead of it: once the oldest answered change not yet stored is that old,
 *   `holding()` says so and the cell's next messages wait in the mailbox for the write;
 * - a write that fails for any reason but fencing (the server is unreachable, JetStream has no
 *   quorum, the request timed out) makes `failing` true: the cell answers `unavailable`, and
 *   this retries in the background until a write lands, or finds that another activation wrote
 *   (then it reports fencing and the activation stops);
 * - a write whose request failed may still have landed: each write names itself (a token in the
 *   checkpoint), so the retry recognises its own write and carries on from it.
 *
 * So a partition or a lost server takes at most the changes answered in the last
 * `CHECKPOINT_LAG_MS` before storage stopped (after-change), and nothing answered under
 * `before-reply` (the cell answers only once `stores(state)` holds).
 */
import type { Span } from "@opentelemetry/api"
import type { ActorAddress } from "../../subjects/grammar.ts"
import { StateFencedError, type Accounting, type StateStore } from "./state-store.ts"
import { endSpan, startCheckpointSpan } from "../observability/tracing.ts"

/** Under `after-change`, how far (ms) answers may run ahead of storage. */
export const CHECKPOINT_LAG_MS = 250

/** What the checkpoints need of their cell. */
export interface CheckpointOwner extends ActorAddress {
  readonly status: string
  readonly host: {
    readonly store: StateStore
    readonly stats: { checkpoints: number }
    readonly node: { readonly id: string; log(level: "info" | "warn" | "error", message: string): void }
  }
  accounting(sleptAt?: number): Accounting
  /** A write failed (fenced or not): the host logs it and stops the activation when fenced. */
  checkpointFailed(error: unknown): void
  rejectQueued(code: "unavailable", message: string): number
  /** A write finished or the store recovered: messages that waited may run. */
  resume(): void
}

/** Names this process among the earlier runs of a node with the same id (write tokens). */
const PROCESS_TAG = Math.random().toString(36).slice(2, 10)
/** Names each write among every write of the process (one counter for all cells: no field per cell). */
let writesOfProcess = 0

/**
 * What a checkpoint write needs only while one is in flight, queued behind another, failing, or
 * unsure whether it landed: made by the first write, dropped once everything answered is stored
 * (an idle actor keeps three fields of checkpoints, not eleven: 56 B less per active actor).
 */
class Writing {
  /**
   * JSON of the latest state a handler completed with that is not stored yet (a write in flight
   * or queued behind one). A crash restores this, not `saved`: the message that produced it
   * succeeded and was answered, so its change is not the crashing handler's to lose.
   */
  unsaved: string | undefined = undefined
  saving: Promise<void> | null = null
  dirty = false
  /** When the first change behind the write in flight was made (0: none). */
  dirtySince = 0
  /** When the oldest answered change that is not stored yet was made (0: everything answered is stored). */
  unstoredSince = 0
  /** A write failed for another reason than fencing: the cell answers `unavailable` until one lands. */
  failing = false
  /** Why the last write failed (for the error that ends a drain's tries). */
  lastError: unknown = undefined
  /** Writes whose outcome is unknown (their request failed), by token: the JSON each carried (null: none, the usual case). */
  uncertain: Map<string, string> | null = null

  /** Nothing is in flight, queued, failing or unsure: the state can go. */
  get settled(): boolean {
    return this.saving === null && !this.failing && this.unsaved === undefined && this.unstoredSince === 0 && !this.dirty && this.uncertain === null
  }
}

export class Checkpoints {
  /** KV revision of the last checkpoint (0: none). */
  revision = 0
  /** JSON of the state as last checkpointed (for change detection and restart). */
  saved: string | undefined = undefined
  /** The write state (null: nothing in flight, everything answered is stored, the usual idle case). */
  private w: Writing | null = null

  constructor(private readonly cell: CheckpointOwner) {}

  private writing(): Writing {
    return (this.w ??= new Writing())
  }

  /** Drops the write state once nothing needs it (its last error goes with it: nothing is failing). */
  private settle(): void {
    if (this.w?.settled) this.w = null
  }

  /** Sets what was restored from the store. */
  restored(revision: number, json: string): void {
    this.revision = revision
    this.saved = json
  }

  /** The last answered state (stored or not), for a restart in place. */
  get lastAnswered(): string | undefined {
    return this.w?.unsaved ?? this.saved
  }

  /** A write failed for another reason than fencing: the cell answers `unavailable` until one lands. */
  get failing(): boolean {
    return this.w?.failing === true
  }

  /** Why the last write failed (for the error that ends a drain's tries). */
  get lastError(): unknown {
    return this.w?.lastError
  }

  /** A write is in flight, or the store is failing. */
  get busy(): boolean {
    const w = this.w
    return w !== null && (w.saving !== null || w.failing)
  }

  /** Whether `json` is what is stored. */
  stores(json: string): boolean {
    return this.saved === json
  }

  /** Answers are too far ahead of storage: the next message waits for the write in flight. */
  holding(): boolean {
    const w = this.w
    return w !== null && !w.failing && w.unstoredSince !== 0 && Date.now() - w.unstoredSince > CHECKPOINT_LAG_MS
  }

  /** After an answered change: writes `json` now, or behind the write in flight. */
  soon(json: string, span?: Span): void {
    const busy = this.w
    if (busy !== null && (busy.saving !== null || busy.failing)) {
      if (json !== (busy.unsaved ?? this.saved)) {
        busy.unsaved = json
        busy.dirty = true
        if (busy.dirtySince === 0) busy.dirtySince = Date.now()
        if (busy.unstoredSince === 0) busy.unstoredSince = busy.dirtySince
      }
      return
    }
    if (json === this.saved) return
    const w = this.writing()
    w.unsaved = json
    if (w.unstoredSince === 0) w.unstoredSince = Date.now()
    w.saving = this.write(w, json, undefined, span)
  }

  /** Writes the state now (when changed, passivating or forced) and resolves when the write ended. */
  async now(json: () => string, sleptAt: number | undefined, force: boolean, span?: Span): Promise<void> {
    while (this.w?.saving) await this.w.saving
    const current = json()
    if (current === this.saved && sleptAt === undefined && !force) return
    const w = this.writing()
    w.unsaved = current
    const saving = (w.saving = this.write(w, current, sleptAt, span))
    await saving
  }

  /** `turn`: the span of the turn the write is for (its span's parent); none for a write on a timer. */
  private async write(w: Writing, json: string, sleptAt?: number, turn?: Span): Promise<void> {
    const cell = this.cell
    const token = `${cell.host.node.id}.${PROCESS_TAG}-${++writesOfProcess}`
    const span = startCheckpointSpan(cell, json.length, turn)
    let failure: unknown
    try {
      this.revision = await cell.host.store.save(cell, json, this.revision, cell.accounting(sleptAt), token)
      this.saved = json
      if (w.unsaved === json) w.unsaved = undefined
      w.uncertain = null
      // what was answered after this write began is still to be stored
      w.unstoredSince = w.dirty ? w.dirtySince : 0
      cell.host.stats.checkpoints++
      if (w.failing) {
        w.failing = false
        cell.host.node.log("info", `${cell.type}/${cell.id}: its checkpoint is stored again; serving`)
      }
    } catch (e) {
      failure = e
      const fenced = (e as { _tag?: string })?._tag === "StateFencedError"
      w.lastError = e
      // a write whose request failed may still land: remember it, to recognise it later
      if (!fenced) (w.uncertain ??= new Map()).set(token, json)
      cell.checkpointFailed(e)
      if (!fenced) this.storeFailed(w)
    } finally {
      w.saving = null
      endSpan(span, failure)
    }
    if (w.dirty && !w.failing && cell.status !== "stopped") {
      // write what the last successful handler left, not the live state: a handler that crashed
      // meanwhile may have changed it half-way (the restart has already put `unsaved` back)
      w.dirty = false
      w.dirtySince = 0
      if (w.unsaved !== undefined && w.unsaved !== this.saved) w.saving = this.write(w, w.unsaved)
    }
    if (w.saving === null && !w.failing && (w.unsaved === undefined || w.unsaved === this.saved)) {
      // everything answered is stored (also when the change behind this write undid itself: the
      // state went back to what this write stored, so there is nothing to hold the mailbox for)
      w.unsaved = undefined
      w.unstoredSince = 0
    }
    this.settle()
    cell.resume()
  }

  /** A write failed (not fenced): answer `unavailable` until one lands; retry in the background. */
  private storeFailed(w: Writing): void {
    if (w.failing || this.cell.status === "stopped") return
    w.failing = true
    this.cell.rejectQueued("unavailable", `${this.cell.type}/${this.cell.id} cannot store its state right now; retry`)
    this.retry(100)
  }

  private retry(waitMs: number): void {
    setTimeout(() => void this.recover(waitMs), waitMs).unref?.()
  }

  /**
   * Finds out what the store holds now and carries on from there: our own write landed after all
   * (its token is one we are unsure of), nothing landed (write again), or another activation
   * wrote (report fencing: the activation stops). Clears `failing` once everything answered is stored.
   */
  private async recover(waitMs: number): Promise<void> {
    const cell = this.cell
    const again = () => this.retry(Math.min(1_000, waitMs * 2))
    while (this.w?.saving) await this.w.saving
    const w = this.w
    if (w === null || !w.failing || cell.status === "stopped") return
    let current
    try {
      current = await cell.host.store.current(cell)
    } catch {
      return again()
    }
    if (cell.status === "stopped") return
    if (w.saving !== null) return again()
    if (current.revision !== this.revision) {
      const landed = current.token !== undefined ? w.uncertain?.get(current.token) : undefined
      if (landed === undefined) {
        cell.checkpointFailed(new StateFencedError(`${cell.tenant}.${cell.type}.${cell.id}`, this.revision))
        return
      }
      this.revision = current.revision
      this.saved = landed
      if (w.unsaved === landed) w.unsaved = undefined
    }
    const latest = w.unsaved
    if (latest !== undefined && latest !== this.saved) {
      w.dirty = false
      w.dirtySince = 0
      const saving = (w.saving = this.write(w, latest))
      await saving
      if (w.failing) again()
      return
    }
    w.uncertain = null
    w.unstoredSince = 0
    w.unsaved = undefined
    w.failing = false
    this.settle()
    cell.host.node.log("info", `${cell.type}/${cell.id}: its checkpoint is stored again; serving`)
    cell.resume()
  }
}
