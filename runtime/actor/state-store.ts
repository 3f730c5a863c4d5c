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
 * Value (JSON): `{"v":1,"state":<state>,"at":"<ISO time>","node":"<node id>","w":"<write token>",
 * "acct":{activations,activeMs,sleepingMs,restarts,sleptAt?}}` (acct: per-actor cost accounting;
 * w: names the write, so a writer whose request timed out can tell whether it landed).
 *
 * Reads go to the stream's leader (`load`, `current`), not to any replica: a replica that lags
 * (one that was cut off a moment ago) would hand out an older checkpoint.
 */
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import { TaggedError } from "../../subjects/errors.ts"
import type { NatsConnection } from "@nats-io/nats-core"
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream"
import { Kvm, type KV } from "@nats-io/kv"
import { bucketStream } from "../../subjects/cluster.ts"
import { stateKey, STATE_BUCKET } from "../../subjects/kv.ts"
import { kvSubject } from "../../subjects/jetstream.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"
import { stripPrototypeKeys } from "../limits/safe-json.ts"
import { retrying } from "../../supervisors/backoff.ts"

export class StateFencedError extends TaggedError("StateFencedError") {
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    options?: { cause?: unknown },
  ) {
    super(`checkpoint of ${key} was fenced: another activation wrote after revision ${expectedRevision}`, options)
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

/** What the leader holds for an actor right now: its revision and the token of the write that made it. */
export interface CurrentCheckpoint {
  readonly revision: number
  readonly token: string | undefined
}

export interface StateStore {
  load(address: ActorAddress): Promise<Checkpoint | undefined>
  /**
   * Writes `serialized` (the JSON of the state) fenced by `revision` (0: must not exist), naming
   * the write `token`. Returns the new revision.
   */
  save(address: ActorAddress, serialized: string, revision: number, acct?: Accounting, token?: string): Promise<number>
  /** The revision and write token the leader holds (revision 0: no checkpoint). */
  current(address: ActorAddress): Promise<CurrentCheckpoint>
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
  // a cluster that has just formed may not place a replicated bucket yet ("no suitable peers")
  const kv: KV = await retrying(() => new Kvm(nc).create(STATE_BUCKET, { history: 1, replicas: options.replicas ?? 1 }), 20_000)
  const jsm: JetStreamManager = await jetstreamManager(nc)
  const stream = bucketStream(STATE_BUCKET)
  /** The last entry of a key, read from the stream's leader; undefined when there is none (or it was deleted). */
  const leaderGet = async (address: ActorAddress) => {
    let m
    try {
      m = await jsm.streams.getMessage(stream, { last_by_subj: kvSubject(STATE_BUCKET, stateKey(address)) })
    } catch (e) {
      if (isNoMessage(e)) return undefined
      throw e
    }
    if (m === null || m.data.length === 0) return undefined
    const op = m.header?.get("KV-Operation")
    if (op === "DEL" || op === "PURGE") return undefined
    return { revision: m.seq, parsed: m.json<{ state: unknown; acct?: Accounting; w?: string }>() }
  }
  const store: StateStore = {
    async load(address) {
      const e = await leaderGet(address)
      if (!e) return undefined
      // a checkpoint written by anything else (an older runtime, an outside client) may carry
      // prototype keys: the actor never sees them
      return { state: stripPrototypeKeys(e.parsed.state), revision: e.revision, acct: e.parsed.acct }
    },
    async current(address) {
      const e = await leaderGet(address)
      return e ? { revision: e.revision, token: e.parsed.w } : { revision: 0, token: undefined }
    },
    async save(address, serialized, revision, acct, token) {
      const key = stateKey(address)
      const tail = (token ? `,"w":${JSON.stringify(token)}` : "") + (acct ? `,"acct":${JSON.stringify(acct)}` : "")
      const body = encoder.encode(`{"v":1,"state":${serialized},"at":"${new Date().toISOString()}","node":${JSON.stringify(options.nodeId)}${tail}}`)
      try {
        return revision === 0 ? await kv.create(key, body) : await kv.update(key, body, revision)
      } catch (e) {
        if (isWrongLastSequence(e)) throw new StateFencedError(key, revision, { cause: e })
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

function isNoMessage(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? "")
  return /no message found|10037/.test(msg) || (e as { api_error?: { err_code?: number } })?.api_error?.err_code === 10037
}

