/**
 * The KV buckets behind pheromones and the workspace, opened once per connection, and the three
 * primitives everything else is built from:
 *
 *   - `readLatest`: the last value of every key under a filter, read by ONE push consumer
 *     (deliver last-per-subject, see kv-feed.ts) that streams the values. This is the prefix
 *     read `detect` and `list` use: one request to create the consumer, then the server
 *     pushes; no per-key gets.
 *   - `writeValue`: a KV put published straight to `$KV.<bucket>.<key>`, optionally
 *     revision-checked (`Nats-Expected-Last-Subject-Sequence`, 0 = must not exist) and, on
 *     servers with per-message TTL, carrying `Nats-TTL`.
 *   - `writeMarker`: a KV delete marker (optionally revision-checked) with extra headers.
 *
 * Conflicts (a stale revision) surface as `isRevisionConflict(err) === true`.
 *
 * Opening a bucket asks only for its stream info (no `$JS.API.INFO`), and creates it when it is
 * missing; a tenant principal (subjects/permissions.ts) cannot create streams, so the runtime's nodes
 * (which open both buckets at start) must have created them first. The first opener on a
 * connection decides the replica count of a bucket it creates (`replicas`, default 1); an
 * existing bucket keeps its own.
 */
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JetStreamPublishOptions } from "@nats-io/jetstream"
import { Kvm, type KV } from "@nats-io/kv"
import { Empty, headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core"
import { PHEROMONE_MAX_AGE_MS, PHEROMONE_BUCKET, WORKSPACE_BUCKET, WORKSPACE_HISTORY } from "../../subjects/pheromones.ts"
import { bucketStream, kvSubject } from "../../subjects/jetstream.ts"
import { openKvFeed, type KvItem } from "./kv-feed.ts"
import { KV_TIMEOUT_MS, storedPublish } from "../server/stored-publish.ts"

export type { KvItem }
import { serverFeatures, type PheromoneServerFeatures } from "../server/server-features.ts"

export interface KvStore {
  readonly bucket: string
  readonly stream: string
  readonly kv: KV
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
  readonly nc: NatsConnection
  readonly features: PheromoneServerFeatures
  /** Writes carry `Nats-TTL` and the server leaves markers at expiry (2.11+ and a bucket created so). */
  readonly serverTtl: boolean
}


const KV_OPERATION = "KV-Operation"
/** Per-message TTL of a write (nats-server 2.11+). */
const TTL_HEADER = "Nats-TTL"

const pheromoneStores = new WeakMap<NatsConnection, Promise<KvStore>>()
const workspaceStores = new WeakMap<NatsConnection, Promise<KvStore>>()

export interface StoreOptions {
  /** Replicas of a bucket this call creates (1 to 5; default 1). An existing bucket keeps its own. */
  readonly replicas?: number
}

export function replicasOf(opts: StoreOptions): number {
  const r = opts.replicas ?? 1
  if (!Number.isInteger(r) || r < 1 || r > 5) throw new RangeError(`replicas must be an integer from 1 to 5, got ${JSON.stringify(opts.replicas)}`)
  return r
}

/** A Kvm that does not ask for account info (`$JS.API.INFO`), which tenant users need not be allowed. */
const kvm = (nc: NatsConnection) => new Kvm(jetstream(nc, { checkAPI: false }))

/**
 * Opens (creating if needed) `ants_pheromones`: history 1, max_age PHEROMONE_MAX_AGE_MS, and on 2.11+
 * per-message TTL with delete markers kept for a minute.
 */
export function pheromoneStore(nc: NatsConnection, opts: StoreOptions = {}): Promise<KvStore> {
  const replicas = replicasOf(opts)
  return memo(pheromoneStores, nc, async () => {
    const features = serverFeatures(nc)
    const kv = await kvm(nc).create(PHEROMONE_BUCKET, {
      history: 1,
      replicas,
      ttl: PHEROMONE_MAX_AGE_MS,
      description: "ANTS pheromones: <tenant>.<location...>.<id> -> PheromoneEntry (subjects/pheromones.ts)",
      ...(features.messageTtl ? { markerTTL: 60_000 } : {}),
    })
    const jsm = await jetstreamManager(nc, { checkAPI: false })
    const config = await hardened(jsm, bucketStream(PHEROMONE_BUCKET))
    const serverTtl = serverTtlOf(features, config)
    return { bucket: PHEROMONE_BUCKET, stream: bucketStream(PHEROMONE_BUCKET), kv, js: jetstream(nc), jsm, nc, features, serverTtl }
  })
}

/** Opens (creating if needed) `ants_workspace`: history WORKSPACE_HISTORY, no max_age. */
export function workspaceStore(nc: NatsConnection, opts: StoreOptions = {}): Promise<KvStore> {
  const replicas = replicasOf(opts)
  return memo(workspaceStores, nc, async () => {
    const kv = await kvm(nc).create(WORKSPACE_BUCKET, {
      history: WORKSPACE_HISTORY,
      replicas,
      description: "ANTS stigmergy workspace: <tenant>.<artifact...> -> ArtifactEntry (subjects/pheromones.ts)",
    })
    const jsm = await jetstreamManager(nc, { checkAPI: false })
    await hardened(jsm, bucketStream(WORKSPACE_BUCKET))
    return { bucket: WORKSPACE_BUCKET, stream: bucketStream(WORKSPACE_BUCKET), kv, js: jetstream(nc), jsm, nc, features: serverFeatures(nc), serverTtl: false }
  })
}

function memo(map: WeakMap<NatsConnection, Promise<KvStore>>, nc: NatsConnection, open: () => Promise<KvStore>): Promise<KvStore> {
  let p = map.get(nc)
  if (!p) {
    p = open()
    map.set(nc, p)
    // A failed open (no JetStream yet, a transient error) is retried by the next call.
    p.catch(() => map.delete(nc))
  }
  return p
}

/**
 * The bucket's stream config, after turning off rollup headers: nats.js creates KV streams with
 * `allow_rollup_hdrs`, and one `Nats-Rollup: all` message on any key a tenant may write would
 * purge every tenant's entries. The runtime never rolls up (it deletes with markers). Only a
 * user allowed to update streams (a runtime node) can change it; others read it as it is.
 */
async function hardened(jsm: JetStreamManager, stream: string): Promise<{ allow_msg_ttl?: boolean; allow_rollup_hdrs?: boolean }> {
  const info = await jsm.streams.info(stream)
  if (info.config.allow_rollup_hdrs) {
    try {
      const updated = await jsm.streams.update(stream, { allow_rollup_hdrs: false })
      return updated.config as { allow_msg_ttl?: boolean }
    } catch {
      // not allowed to (a tenant user): the node that created the bucket does it
    }
  }
  return info.config as { allow_msg_ttl?: boolean; allow_rollup_hdrs?: boolean }
}

/**
 * The 2.11+ path is taken when the server has per-message TTL AND the bucket was created with
 * it: a bucket created before an upgrade has no `allow_msg_ttl` and stays on the fallback path.
 */
export function serverTtlOf(features: PheromoneServerFeatures, bucketConfig: { allow_msg_ttl?: boolean }): boolean {
  return features.messageTtl && bucketConfig.allow_msg_ttl === true
}

/** The `Nats-TTL` of a write: whole seconds, rounded up, at least 1 (so the server never expires a trail early). */
export function ttlHeader(ttlMs: number): string {
  return `${Math.max(1, Math.ceil(ttlMs / 1000))}s`
}


export interface WriteOptions {
  /** Revision the key must be at; 0 = the key must not exist (or be deleted: pass the marker's revision). */
  readonly expectRevision?: number
  /** Per-message TTL, used only when the store has server TTL. */
  readonly ttlMs?: number
}

/**
 * A put, published on the connection's reply inbox (server/stored-publish.ts) rather than
 * through `js.publish`, whose request object builds two stack-capturing errors per write: they
 * were 40% of the CPU of a deposit loop (profile of 2026-12-04, bench/README.md).
 */
export async function writeValue(store: KvStore, key: string, value: string | Uint8Array, opts: WriteOptions = {}): Promise<number> {
  const ttl = store.serverTtl && opts.ttlMs !== undefined ? { [TTL_HEADER]: ttlHeader(opts.ttlMs) } : undefined
  const ack = await storedPublish(store.nc, kvSubject(store.bucket, key), value, { expectedLastSubjectSequence: opts.expectRevision, headers: ttl, timeoutMs: KV_TIMEOUT_MS })
  return ack.seq
}

export async function writeMarker(
  store: KvStore,
  key: string,
  opts: { expectRevision?: number; headers?: Record<string, string> } = {},
): Promise<number> {
  const h = natsHeaders()
  h.set(KV_OPERATION, "DEL")
  for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v)
  const o: Partial<JetStreamPublishOptions> = { headers: h }
  if (opts.expectRevision !== undefined) o.expect = { lastSubjectSequence: opts.expectRevision }
  const pa = await store.js.publish(kvSubject(store.bucket, key), Empty, o)
  return pa.seq
}

/** The last message of one key (a deleted key comes back with its marker's revision). */
export async function readOne(store: KvStore, key: string): Promise<KvItem | undefined> {
  const e = await store.kv.get(key)
  if (!e) return undefined
  return {
    key,
    revision: e.revision,
    operation: e.operation,
    value: e.value,
    header: () => undefined,
  }
}

/**
 * The last message of every key matching `filter` (including delete markers: callers skip them),
 * read by one push feed. Resolves once the feed has delivered as many keys as the server counted
 * for the filter when the consumer was made (the snapshot), or sends an idle heartbeat, or at most
 * `SNAPSHOT_GRACE_MS` after it said nothing is pending.
 */
export async function readLatest(store: KvStore, filter: string): Promise<KvItem[]> {
  return await readLatestAs(store, filter, (item) => item)
}

/**
 * `readLatest` with each item turned into what the caller keeps (undefined: dropped) as it
 * arrives: the decoding overlaps the wait for the rest of the stream instead of following it.
 *
 * Counting keys matters: nats-server 2.9's last-per-subject consumer can report one message
 * pending after every delivery once a key was written while the consumer was made, and its idle
 * heartbeat never comes while keys under the filter are written more often than every few seconds
 * (a load trail renewed each second), so waiting for "nothing pending" alone could wait for ever.
 * The same server can deliver a message twice at the start of a read, and then count it as
 * pending no more: a key is read once, at its newest revision seen, and "nothing pending" before
 * every key of the snapshot came only waits `SNAPSHOT_GRACE_MS` for the rest (a key whose
 * message the server dropped meanwhile, by the bucket's max age, never comes).
 */
export async function readLatestAs<T>(store: KvStore, filter: string, map: (item: KvItem) => T | undefined): Promise<T[]> {
  const out: Array<T | typeof GONE> = []
  /** Per key read: its revision and where its value is in `out` (-1: the map dropped it). */
  const keys = new Map<string, { revision: number; at: number }>()
  let failed: unknown
  let replaced = false
  /** The snapshot's size in keys, once the consumer's creation answered (messages can come before that). */
  let snapshot = Infinity
  let complete = false
  let grace: ReturnType<typeof setTimeout> | undefined
  let done!: () => void
  const finished = new Promise<void>((r) => (done = r))
  const finish = () => {
    complete = true
    clearTimeout(grace)
    done()
  }
  const feed = await openKvFeed(store.nc, store, filter, {
    onItem: (item, pending) => {
      // later messages (newer than the snapshot) are not read
      if (complete) return
      const prior = keys.get(item.key)
      if (prior === undefined || item.revision > prior.revision) {
        let v: T | undefined
        try {
          v = map(item)
        } catch (e) {
          failed ??= e
        }
        if (prior === undefined) keys.set(item.key, { revision: item.revision, at: v === undefined ? -1 : out.push(v) - 1 })
        else {
          // a newer revision of a key already read: it takes the older one's place
          replaced = true
          if (prior.at >= 0) out[prior.at] = v === undefined ? GONE : v
          else if (v !== undefined) prior.at = out.push(v) - 1
          prior.revision = item.revision
        }
      }
      if (keys.size >= snapshot) finish()
      else if (pending === 0) grace ??= setTimeout(finish, SNAPSHOT_GRACE_MS)
    },
    // A heartbeat means the server has sent all it had: never wait forever on a lost message.
    onIdle: finish,
  })
  snapshot = feed.initial
  if (keys.size >= snapshot) finish()
  else await finished
  feed.stop()
  if (failed !== undefined) throw failed
  return replaced ? (out.filter((v) => v !== GONE) as T[]) : (out as T[])
}

/** How long a read waits for the rest of its snapshot once the server says nothing is pending. */
export const SNAPSHOT_GRACE_MS = 1_000

/** A value of `readLatestAs` whose key's newer revision the map dropped. */
const GONE: unique symbol = Symbol("gone")
