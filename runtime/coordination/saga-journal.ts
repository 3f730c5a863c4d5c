/**
 * A saga's journal: one workspace artifact `sagas.<id>` (kind `saga`) whose status is the saga's
 * and whose data lists every step's state, attempts, result or error, plus the coordinator that
 * owns it and when it last showed life (`heartbeatAt`).
 *
 * Promises: the owner's writes go one at a time, each fenced by the revision of the previous
 * one, so a coordinator that another has taken over finds out at its next write (`taken_over`)
 * and stops, and nobody overwrites the journal of a live owner.
 */
import { sagaArtifactId } from "../../subjects/coordination.ts"
import type { Artifact, Workspace } from "../stigmergy/mod.ts"
import { CoordinationError, errorText } from "./ports.ts"

export type SagaStatus = "running" | "compensating" | "completed" | "compensated" | "failed"
export type StepState = "pending" | "running" | "done" | "failed" | "compensating" | "compensated" | "no_compensation" | "compensation_failed"

export interface StepEntry {
  readonly name: string
  readonly state: StepState
  /** Runs of the step, counting one cut short by a crash. */
  readonly attempts: number
  readonly compensationAttempts: number
  readonly result?: unknown
  readonly error?: string
  readonly startedAt?: number
  readonly endedAt?: number
}

export interface SagaJournal {
  readonly id: string
  readonly saga: string
  readonly status: SagaStatus
  readonly input: unknown
  readonly owner: string
  readonly heartbeatAt: number
  readonly startedAt: number
  readonly endedAt?: number
  /** The step whose failure started the compensation. */
  readonly failedStep?: string
  readonly error?: string
  readonly steps: ReadonlyArray<StepEntry>
  /** Owners before this one (a take-over after a crash appends the old owner). */
  readonly previousOwners: ReadonlyArray<string>
}

export const TERMINAL: ReadonlySet<SagaStatus> = new Set(["completed", "compensated", "failed"])

export function journalOf(a: Artifact): SagaJournal {
  const d = a.data as Omit<SagaJournal, "id" | "status">
  return { ...d, id: a.id.slice(a.id.indexOf(".") + 1), status: a.status as SagaStatus }
}

/** The owner's handle on a journal: the last state it wrote and the revision to fence the next write with. */
export class JournalWriter {
  private queue: Promise<unknown> = Promise.resolve()
  private lost: CoordinationError | undefined

  constructor(
    private readonly ws: Workspace,
    private current: SagaJournal,
    private revision: number,
  ) {}

  get journal(): SagaJournal {
    return this.current
  }

  /** Set once another coordinator took the journal over (or it vanished): every later write fails with it. */
  get takenOver(): CoordinationError | undefined {
    return this.lost
  }

  /** Applies `change` and writes it, after the writes queued before it. */
  write(change: (j: SagaJournal) => SagaJournal): Promise<SagaJournal> {
    const run = async (): Promise<SagaJournal> => {
      if (this.lost) throw this.lost
      const next = change(this.current)
      const { id: _id, status, ...data } = next
      const artifact = sagaArtifactId(next.id)
      try {
        const a =
          status !== this.current.status
            ? await this.ws.transition(artifact, { to: status, revision: this.revision, data })
            : await this.ws.update(artifact, { data, revision: this.revision })
        this.revision = a.revision
        this.current = next
        return next
      } catch (e) {
        if ((e as { code?: string }).code === "conflict" || (e as { code?: string }).code === "not_found") {
          const now = await this.ws.get(artifact).catch(() => undefined)
          const who = now ? `by ${(now.data as { owner?: string }).owner}` : "(the journal is gone)"
          this.lost = new CoordinationError("taken_over", `saga ${next.id} was taken over ${who}: this coordinator stops`, { cause: e })
          throw this.lost
        }
        throw new CoordinationError("failed", `saga ${next.id}: the journal could not be written: ${errorText(e)}`, { cause: e })
      }
    }
    const p = this.queue.then(run, run)
    this.queue = p.catch(() => undefined)
    return p
  }

  /** Waits for the queued writes. */
  async settled(): Promise<void> {
    await this.queue
  }
}

export function replaceStep(j: SagaJournal, name: string, change: (s: StepEntry) => StepEntry): SagaJournal {
  return { ...j, steps: j.steps.map((s) => (s.name === name ? change(s) : s)) }
}
