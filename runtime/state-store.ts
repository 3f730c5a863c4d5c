/**
 * Actor state checkpoints in JetStream KV (DESIGN.md §4). One key per actor,
 * `<tenant>.<type>.<id>` in bucket `ants_state`, history 1. Every write is fenced by the
 * revision the writer last saw (create-if-absent for the first, update-with-revision after),
 * so an activation that lost its place (another node wrote since) cannot overwrite state: its
 * write fails with StateFencedError and the runtime stops that activation.
 *
 * Value (JSON): `{"v":1,"state":<state>,"at":"<ISO time>","node":"<node id>","acct":{activations,
 * activeMs,sleepingMs,restarts,sleptAt?}}` (acct: per-actor cost accounting).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { stateKey, STATE_BUCKET } from "../subjects/kv.ts"
import type { ActorAddress } from "../subjects/grammar.ts"

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
}

const encoder = new TextEncoder()

export async function openStateStore(nc: NatsConnection, options: { nodeId: string; replicas?: number }): Promise<StateStore> {
  const kv: KV = await new Kvm(nc).create(STATE_BUCKET, { history: 1, replicas: options.replicas ?? 1 })
  return {
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
  }
}

function isWrongRevision(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? "")
  return /wrong last sequence|key exists|10071/.test(msg) || (e as { code?: unknown })?.code === 10071
}
