/**
 * The audit log's writer: appends receipts to the tenant's stream `ANTS_AUDIT_<tenant>` as one
 * hash chain, even with many nodes appending at once.
 *
 * Each receipt names the hash of the receipt before it and its own position `n`; it is published
 * with JetStream's expected-last-sequence (`Nats-Expected-Last-Sequence: n-1`), so the server
 * stores it only if nothing was appended in between. When another node got there first, the
 * writer reads the stream's new last receipt, seals the rest again on top of it and retries
 * (backoff with jitter). A receipt carries a message id (`Nats-Msg-Id`), so one whose ack was
 * lost is not stored twice when retried.
 *
 * The hot path does not wait: `note()` queues a receipt and returns; each tenant's queue is
 * flushed in batches (a noted receipt waits up to `noteDelayMs` for others), every receipt of a
 * batch published back to back (pipelined, one round trip per batch, not per receipt).
 * `record()` is the same but flushes at once, resolving once stored. A queue past
 * `maxQueued` drops new receipts, counts them and says so in the log: a node never stalls on
 * its audit.
 *
 * The stream is created on first use, with delete and purge denied and the retention given
 * (max age, max messages; the oldest go first). A stream that exists is kept as it is.
 */
import { randomUUID } from "node:crypto"
import type { NatsConnection } from "@nats-io/nats-core"
import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream"
import { nanos } from "@nats-io/nats-core"
import { auditSubject, isToken } from "../../subjects/grammar.ts"
import { auditStreamName, auditStreamSubjects } from "../../subjects/governance.ts"
import { ensureStream } from "../server/mod.ts"
import { KV_TIMEOUT_MS, storedPublish } from "../server/stored-publish.ts"
import { GovernanceError } from "./errors.ts"
import { receiptHash, sealReceipt, type NodeKey, type ReceiptBody } from "./receipts.ts"

/** The port other layers record through: resolves once the receipt is stored. */
export type RecordReceipt = (tenant: string, kind: string, detail: unknown) => Promise<void>

export interface AuditRetention {
  /** Receipts older than this are removed by the server (default 365 days; 0: kept forever). */
  readonly maxAgeMs?: number
  /** At most this many receipts per tenant; the oldest go first (default unlimited). */
  readonly maxMessages?: number
}

export const AUDIT_DEFAULTS = {
  maxAgeMs: 365 * 24 * 3600_000,
  maxBatch: 256,
  maxQueued: 100_000,
  maxAttempts: 50,
  /**
   * How long a noted receipt waits for others before its chain is flushed (a recorded one, or
   * one noted while a flush runs, goes at once). A noted receipt is the hot path's (an actor's
   * activation notes two): signed and published at once, it ran between that activation's reply
   * and the caller reading it, and between the caller's next ask and its dispatch.
   */
  noteDelayMs: 5,
} as const

export interface AuditLogOptions extends AuditRetention {
  readonly key: NodeKey
  readonly replicas?: number
  /** Receipts waiting per tenant before new ones are dropped (default 100,000). */
  readonly maxQueued?: number
  readonly log?: (level: "info" | "warn" | "error", message: string) => void
}

export interface AuditStats {
  readonly appended: number
  /** Publishes refused because another writer appended first (each retried). */
  readonly conflicts: number
  readonly dropped: number
  readonly queued: number
  /** Publish rounds (each one round trip for a batch of receipts). */
  readonly batches: number
}

export interface AuditLog {
  readonly record: RecordReceipt
  /** Queues a receipt without waiting (the hot path: pheromone writes, lifecycle events). */
  note(tenant: string, kind: string, detail: unknown): void
  /** Resolves once everything queued so far is stored (or given up). */
  flush(): Promise<void>
  stats(): AuditStats
  close(): Promise<void>
}

interface Pending {
  readonly id: string
  readonly kind: string
  readonly detail: unknown
  readonly at: string
  readonly done?: { resolve(): void; reject(e: unknown): void }
  attempts: number
}

interface Chain {
  readonly tenant: string
  readonly queue: Pending[]
  head?: { seq: number; hash: string }
  stream?: Promise<void>
  running?: Promise<void>
  /** The timer of a flush that waits for more noted receipts (`noteDelayMs`). */
  later?: ReturnType<typeof setTimeout>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The stream of a tenant's receipts, created if absent (delete and purge denied). */
export async function ensureAuditStream(jsm: JetStreamManager, tenant: string, o: AuditRetention & { replicas?: number } = {}): Promise<void> {
  await ensureStream(jsm, {
    name: auditStreamName(tenant),
    subjects: auditStreamSubjects(tenant),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: o.replicas ?? 1,
    max_age: nanos(o.maxAgeMs ?? AUDIT_DEFAULTS.maxAgeMs),
    max_msgs: o.maxMessages ?? -1,
    discard: DiscardPolicy.Old,
    deny_delete: true,
    deny_purge: true,
    duplicate_window: nanos(2 * 60_000),
  })
}

/** The last receipt of a tenant's stream: its sequence and hash (0 and "" when empty). */
export async function auditHead(jsm: JetStreamManager, tenant: string): Promise<{ seq: number; hash: string }> {
  const name = auditStreamName(tenant)
  const info = await jsm.streams.info(name)
  const seq = info.state.last_seq
  if (info.state.messages === 0 || seq === 0) return { seq, hash: "" }
  const m = await jsm.streams.getMessage(name, { seq }).catch(() => null)
  return { seq, hash: m ? receiptHash(m.data) : "" }
}

export function createAuditLog(nc: NatsConnection, node: string, options: AuditLogOptions): AuditLog {
  let jsmP: Promise<JetStreamManager> | undefined
  const jsm = () => (jsmP ??= jetstreamManager(nc))
  const log = options.log ?? (() => {})
  const maxQueued = options.maxQueued ?? AUDIT_DEFAULTS.maxQueued
  const chains = new Map<string, Chain>()
  let appended = 0
  let conflicts = 0
  let dropped = 0
  let batches = 0
  let closed = false

  const chainOf = (tenant: string): Chain => {
    let c = chains.get(tenant)
    if (!c) chains.set(tenant, (c = { tenant, queue: [] }))
    return c
  }

  async function flushChain(c: Chain): Promise<void> {
    while (c.queue.length > 0) {
      c.stream ??= jsm().then((m) => ensureAuditStream(m, c.tenant, { ...options, replicas: options.replicas }))
      try {
        await c.stream
        c.head ??= await auditHead(await jsm(), c.tenant)
      } catch (e) {
        c.stream = undefined
        await failBatch(c, e)
        continue
      }
      const batch = c.queue.slice(0, AUDIT_DEFAULTS.maxBatch)
      batches++
      let { seq, hash } = c.head
      const sent = batch.map((p, i) => {
        const body: ReceiptBody = { v: 1, n: seq + 1, tenant: c.tenant, kind: p.kind, at: p.at, node, key: options.key.keyId, prev: hash, detail: p.detail }
        const bytes = sealReceipt(body, options.key)
        const expected = seq
        seq += 1
        hash = receiptHash(bytes)
        // The batch goes out pipelined. A receipt after the first expects its predecessor to be
        // the stream's last message, not only the sequence: when another node's receipt took the
        // predecessor's place (which was then refused), the sequence alone would match and this
        // one would be stored linked to a receipt that is not in the chain.
        // Over the connection's reply inbox (server/stored-publish.ts): no request object, timer
        // and stack-capturing errors per receipt, which cost more than the signature.
        const ack = storedPublish(nc, auditSubject(c.tenant, p.kind), bytes, {
          msgId: p.id,
          expectedLastSequence: expected,
          expectedLastMsgId: i > 0 ? batch[i - 1]!.id : undefined,
          timeoutMs: KV_TIMEOUT_MS,
        })
        return { hash, ack }
      })
      const results = await Promise.allSettled(sent.map((s) => s.ack))
      let failed = false
      let last: { seq: number; hash: string } | undefined
      const retry: Pending[] = []
      results.forEach((r, i) => {
        const p = batch[i]!
        if (r.status === "fulfilled") {
          const ack = r.value
          if (!ack.duplicate) appended++
          // a duplicate (stored by an earlier try whose answer was lost) was sealed then, with
          // another position: the head is what the stream says, read again below
          if (!failed) last = ack.duplicate ? undefined : { seq: ack.seq, hash: sent[i]!.hash }
          p.done?.resolve()
        } else {
          failed = true
          retry.push(p)
        }
      })
      c.queue.splice(0, batch.length, ...retry)
      if (!failed) {
        c.head = last
        continue
      }
      conflicts++
      c.head = undefined
      await failBatch(c, (results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason, retry)
    }
  }

  // A batch that could not be stored: retried after a short random wait, given up after maxAttempts.
  async function failBatch(c: Chain, e: unknown, which: Pending[] = c.queue.slice(0, AUDIT_DEFAULTS.maxBatch)): Promise<void> {
    const given: Pending[] = []
    for (const p of which) if (++p.attempts >= AUDIT_DEFAULTS.maxAttempts) given.push(p)
    if (given.length > 0) {
      for (const p of given) c.queue.splice(c.queue.indexOf(p), 1)
      dropped += given.length
      log("error", `audit: ${given.length} receipt(s) of tenant "${c.tenant}" not stored after ${AUDIT_DEFAULTS.maxAttempts} attempts: ${(e as Error)?.message ?? e}`)
      for (const p of given) p.done?.reject(e)
    }
    const attempt = Math.min(8, which[0]?.attempts ?? 1)
    await sleep(Math.random() * Math.min(250, 2 ** attempt))
  }

  function start(c: Chain): Promise<void> {
    if (c.later !== undefined) {
      clearTimeout(c.later)
      c.later = undefined
    }
    c.running ??= flushChain(c).finally(() => {
      c.running = undefined
      if (c.queue.length > 0 && !closed) void start(c)
    })
    return c.running
  }

  function enqueue(tenant: string, kind: string, detail: unknown, done?: Pending["done"]): void {
    if (!isToken(tenant) || !isToken(kind)) {
      const e = new GovernanceError("invalid", `an audit receipt needs a tenant and a kind made of letters, digits, _ and - (got "${tenant}", "${kind}")`)
      if (done) done.reject(e)
      else log("warn", `audit: ${e.message}; not recorded`)
      return
    }
    const c = chainOf(tenant)
    if (c.queue.length >= maxQueued) {
      dropped++
      if (dropped === 1 || dropped % 10_000 === 0) log("warn", `audit: the queue of tenant "${tenant}" is full (${maxQueued}); ${dropped} receipt(s) dropped so far`)
      done?.reject(new Error(`the audit queue of tenant "${tenant}" is full`))
      return
    }
    c.queue.push({ id: randomUUID(), kind, detail, at: new Date().toISOString(), attempts: 0, done })
    if (done !== undefined || c.running !== undefined) void start(c)
    else c.later ??= setTimeout(() => void start(c), AUDIT_DEFAULTS.noteDelayMs)
  }

  return {
    record: (tenant, kind, detail) => new Promise<void>((resolve, reject) => enqueue(tenant, kind, detail, { resolve, reject })),
    note: (tenant, kind, detail) => enqueue(tenant, kind, detail),
    async flush() {
      for (const c of chains.values()) if (c.later !== undefined) void start(c)
      for (;;) {
        const running = [...chains.values()].map((c) => c.running).filter((r): r is Promise<void> => r !== undefined)
        if (running.length === 0) return
        await Promise.all(running)
      }
    },
    stats: () => ({ appended, conflicts, dropped, batches, queued: [...chains.values()].reduce((n, c) => n + c.queue.length, 0) }),
    async close() {
      await this.flush()
      closed = true
    },
  }
}
