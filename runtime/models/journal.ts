/**
 * The turn journal: every model answer and tool result of an agent's turn is recorded here
 * before the turn uses it, so a turn cut short (the node killed mid-turn) resumes on the
 * actor's next owner by replaying the recorded steps instead of calling the model or the tool
 * again, and a finished turn can be replayed against new agent code.
 *
 * Keys (bucket `ants_turns`, see subjects/models.ts): a header `<actor>.<turn>.meta` and one
 * entry per step `<actor>.<turn>.s<seq>`. A step is written once, with create-if-absent, so
 * two activations racing on one turn cannot record different answers for the same step. The
 * output of a declared summarising step (the prompt of model step `seq` overflowed every
 * model's context) is recorded the same way under `<actor>.<turn>.c<seq>`, before the model
 * call that uses it, so a resumed turn does not summarise again.
 *
 * A new turn costs one write for its header (`open`: create-if-absent, no read first); only a
 * turn that already has a header (a resumption) reads it. A turn that ends on a model answer
 * (no tool call asked) writes no header again: its last step says it is done, and `meta`,
 * `list` and `readTurnRecord` give that turn's header as `settledMeta` makes it (status
 * `done`, the answer, when it finished, the model steps). Only a turn that ends otherwise (a
 * handoff) or fails writes its header a second time. Records written before this (with a
 * header rewritten `done` at the end of every turn) read the same.
 */
import type { ActorAddress } from "../../subjects/grammar.ts"
import { isModelLayerError, TurnJournalError } from "./errors.ts"
import type { ChatMessage, ModelAnswer } from "./types.ts"

export interface TurnMeta {
  readonly turn: string
  readonly address: ActorAddress
  /** The user's text that started the turn. */
  readonly input: string
  /** The conversation before the turn (what the model saw besides the system prompt). */
  readonly history: ReadonlyArray<ChatMessage>
  /** How many of `history`'s last messages were the turn's context (recalled memories), not the conversation. */
  readonly context?: number
  readonly status: "open" | "done" | "failed"
  readonly startedAt: string
  readonly finishedAt?: string
  readonly answer?: string
  readonly error?: string
  readonly steps?: number
}

export type TurnStep =
  | {
      readonly kind: "model"
      readonly seq: number
      /** Digest of the request the agent code built (for replay's divergence report). */
      readonly request: { readonly hash: string; readonly tools: ReadonlyArray<string>; readonly messages: number }
      readonly answer: Omit<ModelAnswer, "attempts">
      readonly at: string
    }
  | {
      readonly kind: "tool"
      readonly seq: number
      readonly callId: string
      readonly name: string
      readonly idempotencyKey: string
      readonly arguments: unknown
      readonly ok: boolean
      /** The result (ok) or the error text handed to the model. */
      readonly result: unknown
      readonly at: string
    }

/** What a summarising step made of model step `seq`'s messages. */
export interface SummaryStep {
  readonly seq: number
  readonly messages: ReadonlyArray<ChatMessage>
  readonly at: string
}

export interface TurnRecord {
  readonly meta: TurnMeta
  readonly steps: ReadonlyArray<TurnStep>
}

export interface TurnJournal {
  meta(a: ActorAddress, turn: string): Promise<TurnMeta | undefined>
  /** Writes the header of a turn not seen before; when the turn has one already, writes nothing and returns it. */
  open(meta: TurnMeta): Promise<TurnMeta | undefined>
  /** Recorded steps in order (a gap ends the list: later steps belong to an abandoned path). */
  steps(a: ActorAddress, turn: string): Promise<TurnStep[]>
  /** Records a step; resolves once it is stored. A step already recorded at `seq` is kept and returned. */
  record(a: ActorAddress, turn: string, step: TurnStep): Promise<TurnStep>
  setMeta(meta: TurnMeta): Promise<void>
  /** The recorded output of the summarising step before model step `seq`, if any. */
  summary(a: ActorAddress, turn: string, seq: number): Promise<SummaryStep | undefined>
  /** Records a summarising step's output; one already recorded at `seq` is kept and returned. */
  recordSummary(a: ActorAddress, turn: string, step: SummaryStep): Promise<SummaryStep>
  /** Drops a turn's steps (its input changed: the recorded answers belong to another question). */
  reset(a: ActorAddress, turn: string): Promise<void>
  /** Turns of a tenant (optionally of a type and actor), headers only. */
  list(tenant: string, type?: string, id?: string): Promise<TurnMeta[]>
}

/**
 * A turn's header as its steps settle it: a header still `open` whose last step is a model
 * answer asking for no tool is a finished turn (the loop ends there), so it is given as `done`
 * with that answer, the step's time as `finishedAt` and the count of model steps, which the
 * header would have had if it had been written again at the end of the turn.
 */
export function settledMeta(meta: TurnMeta, steps: ReadonlyArray<TurnStep>): TurnMeta {
  if (meta.status !== "open") return meta
  const last = steps[steps.length - 1]
  if (last === undefined || last.kind !== "model" || last.answer.toolCalls.length > 0) return meta
  let models = 0
  for (const s of steps) if (s.kind === "model") models++
  return { ...meta, status: "done", finishedAt: last.at, answer: last.answer.content, steps: models }
}

/**
 * The journal with its store's failures (a KV timeout under overload, a server without quorum)
 * turned into TurnJournalError: the caller gets `unavailable` and retries, and the retried
 * turn resumes from what was recorded; the actor is resumed, not restarted.
 */
export function guardedJournal(j: TurnJournal): TurnJournal {
  const guard =
    <A extends unknown[], R>(what: string, f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      try {
        return await f(...a)
      } catch (e) {
        if (isModelLayerError(e)) throw e
        throw new TurnJournalError(`the turn journal could not ${what}: ${(e as Error)?.message ?? String(e)}; retry (the turn resumes from what was recorded)`, { cause: e })
      }
    }
  return {
    meta: guard("be read", j.meta.bind(j)),
    open: guard("record the turn", j.open.bind(j)),
    steps: guard("be read", j.steps.bind(j)),
    record: guard("record a step", j.record.bind(j)),
    setMeta: guard("record the turn", j.setMeta.bind(j)),
    summary: guard("be read", j.summary.bind(j)),
    recordSummary: guard("record a summary", j.recordSummary.bind(j)),
    reset: guard("reset the turn", j.reset.bind(j)),
    list: guard("be read", j.list.bind(j)),
  }
}

/** A journal in memory: for turns that need not survive their process, and for replay from exported records. */
export function memoryTurnJournal(records: ReadonlyArray<TurnRecord> = []): TurnJournal {
  const k = (a: ActorAddress, turn: string) => `${a.tenant}/${a.type}/${a.id}/${turn}`
  const metas = new Map<string, TurnMeta>()
  const steps = new Map<string, TurnStep[]>()
  const summaries = new Map<string, SummaryStep>()
  for (const r of records) {
    metas.set(k(r.meta.address, r.meta.turn), r.meta)
    steps.set(k(r.meta.address, r.meta.turn), [...r.steps])
  }
  return {
    async meta(a, turn) {
      const m = metas.get(k(a, turn))
      return m && settledMeta(m, steps.get(k(a, turn)) ?? [])
    },
    async open(meta) {
      const key = k(meta.address, meta.turn)
      const had = metas.get(key)
      if (!had) metas.set(key, meta)
      return had
    },
    async summary(a, turn, seq) {
      return summaries.get(`${k(a, turn)}#${seq}`)
    },
    async recordSummary(a, turn, step) {
      const key = `${k(a, turn)}#${step.seq}`
      const had = summaries.get(key)
      if (had) return had
      summaries.set(key, step)
      return step
    },
    async steps(a, turn) {
      return [...(steps.get(k(a, turn)) ?? [])]
    },
    async record(a, turn, step) {
      const list = steps.get(k(a, turn)) ?? []
      if (list[step.seq]) return list[step.seq]
      list[step.seq] = step
      steps.set(k(a, turn), list)
      return step
    },
    async setMeta(meta) {
      metas.set(k(meta.address, meta.turn), meta)
    },
    async reset(a, turn) {
      steps.delete(k(a, turn))
      for (const key of summaries.keys()) if (key.startsWith(`${k(a, turn)}#`)) summaries.delete(key)
    },
    async list(tenant, type, id) {
      return [...metas.values()]
        .filter((m) => m.address.tenant === tenant && (type === undefined || m.address.type === type) && (id === undefined || m.address.id === id))
        .map((m) => settledMeta(m, steps.get(k(m.address, m.turn)) ?? []))
    },
  }
}
