/**
 * The turn journal: every model answer and tool result of an agent's turn is recorded here
 * before the turn uses it, so a turn cut short (the node killed mid-turn) resumes on the
 * actor's next owner by replaying the recorded steps instead of calling the model or the tool
 * again, and a finished turn can be replayed against new agent code.
 *
 * Keys (bucket `ants_turns`, see subjects/models.ts): a header `<actor>.<turn>.meta` and one
 * entry per step `<actor>.<turn>.s<seq>`. A step is written once, with create-if-absent, so
 * two activations racing on one turn cannot record different answers for the same step.
 */
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { ChatMessage, ModelAnswer } from "./types.ts"

export interface TurnMeta {
  readonly turn: string
  readonly address: ActorAddress
  /** The user's text that started the turn. */
  readonly input: string
  /** The conversation before the turn (what the model saw besides the system prompt). */
  readonly history: ReadonlyArray<ChatMessage>
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

export interface TurnRecord {
  readonly meta: TurnMeta
  readonly steps: ReadonlyArray<TurnStep>
}

export interface TurnJournal {
  meta(a: ActorAddress, turn: string): Promise<TurnMeta | undefined>
  /** Recorded steps in order (a gap ends the list: later steps belong to an abandoned path). */
  steps(a: ActorAddress, turn: string): Promise<TurnStep[]>
  /** Records a step; resolves once it is stored. A step already recorded at `seq` is kept and returned. */
  record(a: ActorAddress, turn: string, step: TurnStep): Promise<TurnStep>
  setMeta(meta: TurnMeta): Promise<void>
  /** Drops a turn's steps (its input changed: the recorded answers belong to another question). */
  reset(a: ActorAddress, turn: string): Promise<void>
  /** Turns of a tenant (optionally of a type and actor), headers only. */
  list(tenant: string, type?: string, id?: string): Promise<TurnMeta[]>
}

/** A journal in memory: for turns that need not survive their process, and for replay from exported records. */
export function memoryTurnJournal(records: ReadonlyArray<TurnRecord> = []): TurnJournal {
  const k = (a: ActorAddress, turn: string) => `${a.tenant}/${a.type}/${a.id}/${turn}`
  const metas = new Map<string, TurnMeta>()
  const steps = new Map<string, TurnStep[]>()
  for (const r of records) {
    metas.set(k(r.meta.address, r.meta.turn), r.meta)
    steps.set(k(r.meta.address, r.meta.turn), [...r.steps])
  }
  return {
    async meta(a, turn) {
      return metas.get(k(a, turn))
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
    },
    async list(tenant, type, id) {
      return [...metas.values()].filter((m) => m.address.tenant === tenant && (type === undefined || m.address.type === type) && (id === undefined || m.address.id === id))
    },
  }
}
