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
 * "tv":<type version>,"acct":{activations,activeMs,sleepingMs,restarts,sleptAt?}}` (acct: per-actor
 * cost accounting; w: names the write, so a writer whose request timed out can tell whether it
 * landed; tv: the version of the agent type whose code wrote the state, absent for 1).
 *
 * Reads go to the stream's leader (`load`, `current`), not to any replica: a replica that lags
 * (one that was cut off a moment ago) would hand out an older checkpoint.
 */
import { TaggedError } from "../../subjects/errors.ts"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { bucketStream } from "../../subjects/cluster.ts"
import { stateKey, STATE_BUCKET } from "../../subjects/kv.ts"
import { isWrongLastSequence, kvSubject } from "../../subjects/jetstream.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"
import { stripPrototypeKeys } from "../limits/safe-json.ts"
import { retrying } from "../../supervisors/backoff.ts"
import { KV_TIMEOUT_MS, lastStoredMessage, storedCreate, storedPublish } from "../client/stored-get.ts"

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
  /** The version of the agent type that wrote the state (1 when the checkpoint names none). */
  readonly version: number
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
   * Loads the checkpoint and writes it back at its own revision and version (or `initial()` as
   * the first checkpoint), so that an activation still holding the previous revision can no longer write.
   * Called right after a lease was taken over from a holder that may only be stalled, not dead.
   * A write that lands in between is kept: the checkpoint is read again and fenced (5 tries).
   */
  takeOver(address: ActorAddress, initial: () => unknown): Promise<Checkpoint>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * `versionOf(type)`: the version of the agent type this node runs, recorded in each checkpoint it
 * writes (default 1 for every type).
 */
export async function openStateStore(nc: NatsConnection, options: { nodeId: string; replicas?: number; versionOf?: (type: string) => number }): Promise<StateStore> {
  const versionOf = options.versionOf ?? (() => 1)
  // a cluster that has just formed may not place a replicated bucket yet ("no suitable peers")
  const kv: KV = await retrying(() => new Kvm(nc).create(STATE_BUCKET, { history: 1, replicas: options.replicas ?? 1 }), 20_000)
  const stream = bucketStream(STATE_BUCKET)
  // With one replica, that server is the leader: its direct read (no JetStream API queue) is the
  // leader's answer. A replicated bucket is read through the leader's API (a replica may lag).
  const config = (await kv.status()).streamInfo.config
  const direct = config.num_replicas === 1 && config.allow_direct === true
  /**
   * The last entry of a key, from the stream's leader; undefined when there is none (or it was
   * deleted). Read over the connection's reply inbox (client/stored-get.ts).
   */
  const leaderGet = async (address: ActorAddress) => {
    const m = await lastStoredMessage(nc, stream, kvSubject(STATE_BUCKET, stateKey(address)), { direct })
    if (m === undefined || m.data.length === 0) return undefined
    const op = m.header("KV-Operation")
    if (op === "DEL" || op === "PURGE") return undefined
    return { revision: m.seq, parsed: JSON.parse(decoder.decode(m.data)) as { state: unknown; acct?: Accounting; w?: string; tv?: number } }
  }
  const store: StateStore = {
    async load(address) {
      const e = await leaderGet(address)
      if (!e) return undefined
      // a checkpoint written by anything else (an older runtime, an outside client) may carry
      // prototype keys: the actor never sees them
      const tv = e.parsed.tv
      return { state: stripPrototypeKeys(e.parsed.state), revision: e.revision, acct: e.parsed.acct, version: Number.isInteger(tv) && tv! >= 1 ? tv! : 1 }
    },
    async current(address) {
      const e = await leaderGet(address)
      return e ? { revision: e.revision, token: e.parsed.w } : { revision: 0, token: undefined }
    },
    save: (address, serialized, revision, acct, token) => write(address, serialized, revision, acct, token, versionOf(address.type)),
    async remove(address) {
      await kv.purge(stateKey(address))
    },
    async takeOver(address, initial) {
      for (let attempt = 1; ; attempt++) {
        const cp = await store.load(address)
        const state = cp ? cp.state : initial()
        // written back as the version that wrote it: migrating is the activation's business, not the fencing's
        const version = cp?.version ?? versionOf(address.type)
        try {
          const revision = await write(address, JSON.stringify(state ?? null), cp?.revision ?? 0, cp?.acct, undefined, version)
          return { state, revision, acct: cp?.acct, version }
        } catch (e) {
          if (attempt >= 5 || (e as { _tag?: string })._tag !== "StateFencedError") throw e
        }
      }
    },
  }
  async function write(address: ActorAddress, serialized: string, revision: number, acct: Accounting | undefined, token: string | undefined, version: number): Promise<number> {
    const key = stateKey(address)
    const tail = (token ? `,"w":${JSON.stringify(token)}` : "") + (version !== 1 ? `,"tv":${version}` : "") + (acct ? `,"acct":${JSON.stringify(acct)}` : "")
    const body = encoder.encode(`{"v":1,"state":${serialized},"at":"${new Date().toISOString()}","node":${JSON.stringify(options.nodeId)}${tail}}`)
    const subject = kvSubject(STATE_BUCKET, key)
    // over the connection's reply inbox (server/stored-publish.ts), fenced by the subject's last
    // sequence as kv.create and kv.update are, without their request object and stack-capturing
    // errors per write; a first write finds a removed key (a purge or delete marker) free
    try {
      if (revision === 0) return await storedCreate(nc, subject, body, () => markerSeq(subject))
      return (await storedPublish(nc, subject, body, { expectedLastSubjectSequence: revision, timeoutMs: KV_TIMEOUT_MS })).seq
    } catch (e) {
      if (isWrongLastSequence(e)) throw new StateFencedError(key, revision, { cause: e })
      throw e
    }
  }
  /** The sequence of the delete or purge marker `subject` ends with, if it does. */
  async function markerSeq(subject: string): Promise<number | undefined> {
    const m = await lastStoredMessage(nc, stream, subject, { direct })
    const op = m?.header("KV-Operation")
    return m !== undefined && (op === "DEL" || op === "PURGE") ? m.seq : undefined
  }
  return store
}

