/**
 * Membership: which runtime nodes are alive, seen by every node the same way, with no
 * coordinator. Each node writes its entry into KV bucket `ants_members` every
 * `heartbeatMs` (default 300 ms); the bucket's max_age is `expiryMs` (default 1500 ms), so the
 * server forgets a node that stopped writing. Every node watches the bucket: a put is a sign of
 * life, a delete is a graceful leave (seen at once), and a node not heard from for `expiryMs`
 * is taken for dead.
 *
 * Rules that keep views honest when NATS itself hiccups:
 * - A node judges others only while it sees its own heartbeats come back through the watch
 *   (within `2 × heartbeatMs + 200 ms`). When it does not (the bucket's stream is electing a
 *   leader, the connection is down), its view is frozen: nobody is declared dead. When its own
 *   heartbeats come back, everybody gets a fresh `expiryMs` of grace.
 * - A member whose heartbeat is late (`LATE × heartbeatMs` since the last) is probed on
 *   ants._sys.node.<id>.ping. NATS answers "no responders" at once when the node's
 *   connection is gone (a killed process's socket closes), so a crashed node is usually taken
 *   for dead within about `LATE × heartbeatMs`, long before `expiryMs`. A node that joins probes
 *   every member it finds, so entries left by a node that just died do not delay it.
 * - A node taken for dead whose servers confirm that its connections are gone (gone-check.ts)
 *   has its entry removed with a marker naming the prober, fenced by the entry's revision:
 *   every member then takes it for dead at once and its leases are taken over with no grace.
 * - "No responders" removes a member only when it also missed a heartbeat, or when the caller
 *   already saw "no responders" from it (a forwarded ask: `force`), and never while this node's
 *   own view is frozen, its connection is down, or within `expiryMs` after it reconnected: a
 *   client that just moved to another server of the cluster sees "no responders" for live
 *   nodes until their interest has propagated over the routes.
 * - Timing rules here are durations on this node's own clock; a member whose wall clock is off
 *   from the server's is warned about (clock-skew.ts).
 * - Heartbeats are revision-checked updates. If a node's own entry expired on the server
 *   (the node stalled for longer than `expiryMs`), its next update fails: it then knows other
 *   nodes may have taken its actors over, calls `onSelfExpired` (the runtime re-verifies every
 *   lease it holds) and writes a fresh entry.
 */
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import { openBucket } from "./kv-buckets.ts"
import { retrying } from "../../supervisors/backoff.ts"
import type { NatsConnection, Subscription } from "@nats-io/nats-core"
import { isNoResponders } from "../client/no-responders.ts"
import type { KV, KvEntry } from "@nats-io/kv"
import { MEMBERS_BUCKET, memberKey, nodePingSubject } from "../../subjects/cluster.ts"
import { ClockSkew } from "./clock-skew.ts"
import { HeardFrom } from "./heard-from.ts"
import { confirmGone, connRefs, downedBy, type ConnectionView } from "./gone-check.ts"
import { answerPings, ConnectionState } from "./liveness.ts"
import { MEMBERSHIP_DEFAULTS, memberRecord, type Member, type MemberRecord, type MemberState } from "./member-record.ts"
import { ownersAmong } from "./type-versions.ts"
export { MEMBERSHIP_DEFAULTS }
export type { Member, MemberRecord, MemberState } from "./member-record.ts"

export interface MembershipOptions {
  readonly nodeId: string
  readonly incarnation: string
  /** Agent types this node hosts (read when the entry is written). */
  readonly types: () => ReadonlyArray<string>
  /** The version of each hosted type's code, when above 1 (read when the entry is written). */
  readonly versions?: () => Readonly<Record<string, number>>
  readonly replicas?: number
  readonly heartbeatMs?: number
  readonly expiryMs?: number
  readonly log: (level: "info" | "warn" | "error", message: string) => void
  /** Called when the live member set (or a member's state/serving) changed. */
  readonly onChange: () => void
  /** Called when this node finds that its own entry had expired (it was taken for dead); `since`: send time of its last beat that landed. */
  readonly onSelfExpired: (since: number) => void
  /** Called when a heartbeat got through after a silence longer than `expiryMs - heartbeatMs`, which began at `since` (the last beat before it). */
  readonly onResumed: (since: number) => void
  /** Called when a member is taken for dead (not for a graceful leave), with its last entry. */
  readonly onDead?: (node: string, last: MemberRecord) => void
  /** The durable tasks this node holds (ack subjects), advertised in its entry. */
  readonly heldTasks?: () => ReadonlyArray<string>
  /** Every connection of this node (advertised in its entry; default: the membership's own). */
  readonly connections?: () => Iterable<ConnectionView>
  /** Called when this node finds that another node removed its entry, taking it for dead (gone-check.ts): its actors may be taken over any moment. */
  readonly onDowned?: (by: string) => void
}

const encoder = new TextEncoder()
/**
 * A member not heard from for this many heartbeat periods is probed (a ping: answered at once by
 * a live node, however loaded). Only a little over one period: a crashed node is found about a
 * heartbeat after its last beat, and a probe is all a merely late beat costs.
 */
const LATE = 1.1
/** How soon `refresh` writes: long enough to carry a burst of newly held tasks in one entry. */
const REFRESH_MS = 20

export class Membership {
  readonly members = new Map<string, Member>()
  /** When each node was last heard from, kept past its death for the lease grace (heard-from.ts). */
  readonly heard = new HeardFrom()
  private readonly skew: ClockSkew
  readonly heartbeatMs: number
  readonly expiryMs: number
  private readonly staleMs: number
  private kv!: KV
  private revision = 0
  /** Send time of the last heartbeat the server acknowledged. */
  private lastBeatOk = Date.now()
  private state: MemberState = "up"
  private serving: number[] = []
  private readonly startedAt = new Date().toISOString()
  private ownSeenAt = 0
  private stale = true
  private beating: Promise<void> | null = null
  private refreshing = false
  private timer: ReturnType<typeof setInterval> | undefined
  private sweeper: ReturnType<typeof setInterval> | undefined
  private watchStop: (() => void) | undefined
  private stopped = false
  private pingSub: Subscription | undefined
  private readonly probing = new Map<string, number>()
  private conn!: ConnectionState
  private initialized!: Promise<void>
  private markInitialized!: () => void

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: MembershipOptions,
  ) {
    this.heartbeatMs = o.heartbeatMs ?? MEMBERSHIP_DEFAULTS.heartbeatMs
    this.expiryMs = o.expiryMs ?? MEMBERSHIP_DEFAULTS.expiryMs
    if (this.expiryMs < 3 * this.heartbeatMs) throw new Error(`membership expiry (${this.expiryMs} ms) must be at least 3 heartbeats (${this.heartbeatMs} ms)`)
    this.staleMs = 2 * this.heartbeatMs + 200
    this.skew = new ClockSkew(o.nodeId, MEMBERSHIP_DEFAULTS.skewWarnMs, o.log)
  }

  /** Opens the bucket, writes this node's entry and returns once the current members are known. */
  async start(): Promise<void> {
    this.kv = await openBucket(this.nc, MEMBERS_BUCKET, { history: 1, ttl: this.expiryMs, replicas: this.o.replicas ?? 1 }, this.o.log)
    this.pingSub = answerPings(this.nc, this.o.nodeId, this.o.incarnation)
    this.conn = new ConnectionState(this.nc, () => this.stopped)
    this.initialized = new Promise((r) => (this.markInitialized = r))
    // a replicated bucket that was just created may not take writes for a moment
    this.revision = await retrying(() => this.kv.put(memberKey(this.o.nodeId), this.encode()), 20_000)
    this.lastBeatOk = Date.now()
    await this.watch()
    // the watch delivers in stream order: once our own entry came through, everyone before it did
    await Promise.race([this.initialized, new Promise((r) => setTimeout(r, 5_000))])
    // entries of nodes that died a moment ago are still in the bucket: ask NATS whether they are there
    await Promise.all([...this.members.keys()].filter((m) => m !== this.o.nodeId).map((m) => this.probe(m)))
    this.timer = setInterval(() => void this.heartbeat(), this.heartbeatMs)
    this.sweeper = setInterval(() => this.sweep(), Math.max(25, Math.floor(this.heartbeatMs / 6)))
  }

  get id(): string {
    return this.o.nodeId
  }

  /** Milliseconds since `node` was last heard from; undefined when it left gracefully or was never heard. */
  heardAgo(node: string): number | undefined {
    return this.heard.ago(node)
  }

  /** Whether `node` is a live member (up or leaving) in this node's view. */
  isLive(node: string): boolean {
    return this.members.has(node)
  }

  /** Members that own partitions for `type`: up, hosting it, on its highest version (type-versions.ts). */
  candidates(type: string): string[] {
    return ownersAmong(this.members, type)
  }

  /** Whether this node's view is frozen (its own heartbeats are not coming back). */
  get frozen(): boolean {
    return this.stale
  }

  /** Changes what this node advertises and writes it at once. */
  async advertise(change: { state?: MemberState; serving?: number[] }): Promise<void> {
    if (change.state) this.state = change.state
    if (change.serving) this.serving = [...change.serving].sort((a, b) => a - b)
    // our own view changes at once (other nodes see it through the watch)
    const me = this.members.get(this.o.nodeId)
    if (me) me.record = this.record()
    await this.heartbeat()
  }

  /**
   * What the entry carries changed (the tasks this node holds): writes a heartbeat within
   * `REFRESH_MS`, coalescing changes that come together, instead of up to a heartbeat later.
   */
  refresh(): void {
    if (this.stopped || this.timer === undefined || this.refreshing) return
    this.refreshing = true
    setTimeout(() => {
      this.refreshing = false
      void this.heartbeat()
    }, REFRESH_MS)
  }

  /** Writes a heartbeat now; true when it landed (or this node re-joined after it was taken for dead). */
  async beatNow(): Promise<boolean> {
    const before = this.lastBeatOk
    await this.heartbeat()
    return this.lastBeatOk !== before
  }

  /** Graceful leave: removes the entry (others see the delete at once) and stops. */
  async leave(): Promise<void> {
    this.stop()
    await this.beating?.catch(() => undefined)
    try {
      await this.kv.delete(memberKey(this.o.nodeId))
    } catch (e) {
      this.o.log("warn", `could not remove membership entry of ${this.o.nodeId}: ${(e as Error).message} (it expires in ${this.expiryMs} ms)`)
    }
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
    clearInterval(this.sweeper)
    this.watchStop?.()
    this.pingSub?.unsubscribe()
  }

  private record(): MemberRecord {
    const o = this.o
    const conns = connRefs(o.connections?.() ?? [this.nc])
    return memberRecord({ node: o.nodeId, incarnation: o.incarnation, state: this.state, types: o.types(), versions: o.versions?.(), serving: this.serving, startedAt: this.startedAt, tasks: o.heldTasks?.(), conns })
  }

  private encode(): Uint8Array {
    return encoder.encode(JSON.stringify(this.record()))
  }

  /**
   * How long since the last heartbeat the server took. Past `expiryMs` other nodes may take this
   * node for dead and its actors over: the runtime then refuses messages until it has re-checked
   * its leases.
   */
  silentFor(now = Date.now()): number {
    return now - this.lastBeatOk
  }

  private beatOk(sent: number): void {
    // silent long enough to have stopped serving (cluster.ts: out of touch): re-check before serving again
    const before = this.lastBeatOk
    const wasSilent = sent - before > this.expiryMs - this.heartbeatMs
    this.lastBeatOk = Math.max(before, sent)
    if (wasSilent && !this.stopped) this.o.onResumed(before)
  }

  private heartbeat(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    // one write at a time; a caller that wants its change written waits for the next one
    const run = async () => {
      const key = memberKey(this.o.nodeId)
      const sent = Date.now()
      try {
        this.revision = await this.kv.update(key, this.encode(), this.revision)
        this.beatOk(sent)
      } catch (e) {
        if (!isWrongLastSequence(e)) return // server busy or reconnecting: the next beat retries
        let entry: KvEntry | null = null
        try {
          entry = await this.kv.get(key)
        } catch {
          return
        }
        const mine = entry?.operation === "PUT" && safeJson(entry)?.incarnation === this.o.incarnation
        if (mine && entry) {
          // an earlier write landed although its reply was lost
          this.revision = entry.revision
          this.beatOk(sent)
          return
        }
        if (this.stopped) return
        const by = entry?.operation === "DEL" ? downedBy(entry.value) : undefined
        this.o.log("warn", by !== undefined
          ? `node ${by} took node ${this.o.nodeId} for dead (its servers no longer listed its connections); stopping its activations and re-joining`
          : `membership entry of ${this.o.nodeId} had expired (this node stalled for more than ${this.expiryMs} ms); verifying leases and re-joining`)
        if (by !== undefined && this.o.onDowned) this.o.onDowned(by)
        else this.o.onSelfExpired(this.lastBeatOk)
        try {
          const again = Date.now()
          this.revision = await this.kv.put(key, this.encode())
          this.lastBeatOk = again
        } catch {
          // next beat
        }
      }
    }
    const p = (this.beating ?? Promise.resolve()).then(run)
    this.beating = p
    return p
  }

  private async watch(): Promise<void> {
    const iter = await this.kv.watch()
    this.watchStop = () => iter.stop()
    void (async () => {
      for await (const e of iter) {
        if (this.stopped) break
        this.observe(e)
      }
    })().catch((err) => {
      if (!this.stopped) this.o.log("warn", `membership watch ended: ${(err as Error).message}`)
    })
  }

  private observe(e: KvEntry & { isUpdate?: boolean }): void {
    const now = Date.now()
    if (e.operation !== "PUT") {
      if (e.key === this.o.nodeId) return
      this.heard.forget(e.key)
      const m = this.members.get(e.key)
      if (m === undefined || !this.members.delete(e.key)) return
      const by = downedBy(e.value)
      this.o.log(by === undefined ? "info" : "warn", by === undefined ? `node ${e.key} left` : `node ${e.key} is gone: node ${by} found its connections closed; taken for dead`)
      if (by !== undefined) this.o.onDead?.(e.key, m.record)
      this.o.onChange()
      return
    }
    const record = safeJson(e)
    if (!record || record.node !== e.key) return
    if (e.key === this.o.nodeId) {
      if (record.incarnation !== this.o.incarnation) return // our predecessor's last words
      if (this.stale) {
        // our view was frozen: whoever we did not hear from meanwhile gets a fresh grace period
        for (const m of this.members.values()) m.lastSeen = Math.max(m.lastSeen, now)
        this.stale = false
      }
      this.ownSeenAt = now
      this.markInitialized?.()
    }
    this.skew.check(e.key, record.at, e.created.getTime())
    const prev = this.members.get(e.key)
    // an entry from before we watched counts from when it was written (it may be a dead node's last beat)
    const lastSeen = prev || e.isUpdate ? now : Math.max(now - this.expiryMs, Math.min(now, e.created.getTime()))
    // ours as we hold it now: the watch may bring back an older beat of ours, from before `advertise` changed it
    this.members.set(e.key, { record: e.key === this.o.nodeId ? this.record() : record, revision: e.revision, lastSeen })
    this.heard.set(e.key, lastSeen)
    if (
      !prev ||
      prev.record.state !== record.state ||
      prev.record.incarnation !== record.incarnation ||
      prev.record.serving.join(",") !== record.serving.join(",") ||
      prev.record.types.join(",") !== record.types.join(",") ||
      JSON.stringify(prev.record.versions ?? {}) !== JSON.stringify(record.versions ?? {})
    ) {
      if (!prev && e.key !== this.o.nodeId) this.o.log("info", `node ${e.key} joined`)
      this.o.onChange()
    }
  }

  /**
   * Whether "no responders" can be trusted now: this node's view is not frozen, its connection is
   * up and did not just move to another server (interest still propagating over the routes).
   */
  canJudge(now: number): boolean {
    return !this.stale && !this.conn.disconnected && !this.nc.isClosed() && now - this.conn.reconnectedAt > this.expiryMs
  }

  /**
   * Asks NATS whether `node` is still connected; "no responders" removes it from the view at once
   * when it also missed a heartbeat (or `force`: the caller saw "no responders" from it already)
   * and this node can judge (see canJudge).
   */
  async probe(node: string, force = false): Promise<void> {
    const asked = Date.now()
    if (!force && this.probing.has(node) && asked - this.probing.get(node)! < this.heartbeatMs) return
    this.probing.set(node, asked)
    try {
      await this.nc.request(nodePingSubject(node), undefined, { timeout: Math.max(200, this.heartbeatMs) })
    } catch (e) {
      if (isNoResponders(e) && !this.stopped && this.members.has(node) && node !== this.o.nodeId) {
        const m = this.members.get(node)!
        const now = Date.now()
        const missed = asked - m.lastSeen > LATE * this.heartbeatMs
        // a heartbeat that arrived while we asked proves it alive after all
        if (m.lastSeen < asked && (missed || force) && this.canJudge(now)) {
          this.members.delete(node)
          this.o.log("warn", `node ${node} is gone (no responders on its ping subject, last heartbeat ${Date.now() - m.lastSeen} ms ago): taken for dead`)
          this.o.onDead?.(node, m.record)
          this.o.onChange()
          // gone for sure (its servers no longer list its connections): no grace for its leases
          const stillDead = () => !this.stopped && !this.members.has(node) && (this.heard.ago(node) ?? Infinity) < this.expiryMs
          void confirmGone(this.nc, node, m, this.o.nodeId, stillDead, this.heartbeatMs).then((sure) => {
            if (!sure) return
            this.heard.forget(node)
            this.o.log("info", `node ${node} is gone for sure (its servers no longer list its connections): its actors are taken over at once`)
          })
        }
      }
    }
  }

  private sweep(): void {
    const now = Date.now()
    this.heard.sweep(now, (id) => this.members.has(id))
    for (const [id, m] of this.members) {
      if (id !== this.o.nodeId && now - m.lastSeen > LATE * this.heartbeatMs) void this.probe(id)
    }
    if (now - this.ownSeenAt > this.staleMs) {
      this.stale = true
      return
    }
    let changed = false
    for (const [id, m] of this.members) {
      if (id === this.o.nodeId) continue
      if (now - m.lastSeen > this.expiryMs) {
        this.members.delete(id)
        this.o.log("warn", `node ${id} missed its heartbeats for ${now - m.lastSeen} ms: taken for dead`)
        this.o.onDead?.(id, m.record)
        changed = true
      }
    }
    if (changed) this.o.onChange()
  }
}

function safeJson(e: KvEntry): MemberRecord | undefined {
  try {
    return e.json<MemberRecord>()
  } catch {
    return undefined
  }
}
