/**
 * Actor state checkpoints in JetStream KV. One key per actor,
 * `<tenant>.<type>.<id>` in bucket `ants_state`, history 1. Every write is fenced by the
 * revision the writer last saw (create-if-absent for the first, update-with-revision after),
 * so an activation that lost its place (another node wrote since) cannot overwrite state: its
 * write fails with StateFencedError and the runtime stops that activation. A node that takes an
 * actor's lease over from another holder (crashed, or only stalled) rewrites the checkpoint at
 * once (`takeOver`), so the previous holder's next write fails even if the new owner has not
 * changed anything yet.
 *
 * Value (JSON): `{"v":1,"state":<state>,"at":"<ISO time>","node":"<node id>","acct":{activations,
 * activeMs,sleepingMs,restarts,sleptAt?}}` (acct: per-actor cost accounting).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { stateKey, STATE_BUCKET } from "../../subjects/kv.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"

export class StateFencedError extends Error {
  readonly _tag = "StateFencedError"
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    options?: { cause?: unknown },
  ) {
    super(`checkpoint of ${key} was fenced: another activation wrote after revision ${expectedRevision}`, options)
    this.name = "StateFencedError"
  }
}

/** Per-actor cost accounting, kept beside the state so it survives sleep, crashes and moves. */
export interface Accounting {
  readonly activations: number
  readonly activeMs: number
  readonly sleepingMs: number
  readonly restarts: number
  /** Set when the actor passivated: the time it went to sleep (epoch ms). */
  readonly sleptAt?: number
}

export interface Checkpoint {
  readonly state: unknown
  readonly revision: number
  readonly acct?: Accounting
}

export interface StateStore {
  load(address: ActorAddress): Promise<Checkpoint | undefined>
  /** Writes `serialized` (the JSON of the state) fenced by `revision` (0: must not exist). Returns the new revision. */
  save(address: ActorAddress, serialized: string, revision: number, acct?: Accounting): Promise<number>
  remove(address: ActorAddress): Promise<void>
  /**
   * Loads the checkpoint and writes it back at its own revision (or `initial()` as the first
   * checkpoint), so that an activation still holding the previous revision can no longer write.
   * Called right after a lease was taken over from a holder that may only be stalled, not dead.
   * A write that lands in between is kept: the checkpoint is read again and fenced (5 tries).
   */
  takeOver(address: ActorAddress, initial: () => unknown): Promise<Checkpoint>
}

const encoder = new TextEncoder()

export async function openStateStore(nc: NatsConnection, options: { nodeId: string; replicas?: number }): Promise<StateStore> {
  const kv: KV = await new Kvm(nc).create(STATE_BUCKET, { history: 1, replicas: options.replicas ?? 1 })
  const store: StateStore = {
    async load(address) {
      const e = await kv.get(stateKey(address))
      if (!e || e.operation !== "PUT" || e.length === 0) return undefined
      const parsed = e.json<{ state: unknown; acct?: Accounting }>()
      return { state: parsed.state, revision: e.revision, acct: parsed.acct }
    },
    async save(address, serialized, revision, acct) {
      const key = stateKey(address)
      const tail = acct ? `,"acct":${JSON.stringify(acct)}` : ""
      const body = encoder.encode(`{"v":1,"state":${serialized},"at":"${new Date().toISOString()}","node":${JSON.stringify(options.nodeId)}${tail}}`)
      try {
        return revision === 0 ? await kv.create(key, body) : await kv.update(key, body, revision)
      } catch (e) {
        if (isWrongRevision(e)) throw new StateFencedError(key, revision, { cause: e })
        throw e
      }
    },
    async remove(address) {
      await kv.purge(stateKey(address))
    },
    async takeOver(address, initial) {
      for (let attempt = 1; ; attempt++) {
        const cp = await store.load(address)
        const state = cp ? cp.state : initial()
        try {
          const revision = await store.save(address, JSON.stringify(state ?? null), cp?.revision ?? 0, cp?.acct)
          return { state, revision, acct: cp?.acct }
        } catch (e) {
          if (attempt >= 5 || (e as { _tag?: string })._tag !== "StateFencedError") throw e
        }
      }
    },
  }
  return store
}

function isWrongRevision(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? "")
  return /wrong last sequence|key exists|10071/.test(msg) || (e as { code?: unknown })?.code === 10071
}
