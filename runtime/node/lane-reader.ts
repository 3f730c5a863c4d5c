/**
 * The reader thread of an inbound lane (lane-thread.ts starts it through lane-worker.mjs): a
 * NATS connection of its own, in a worker thread, that reads a flooded partition so the node's
 * main thread does not. Parsing a flood costs the thread that reads it (nats.js parses every
 * message where it is read), and on the main thread that is the thread every other tenant's
 * handlers share; here it is a thread of its own.
 *
 * What it does with each message, before the main thread sees it:
 * - a message to an actor takes one of that actor's rate tokens, asked of the main thread in
 *   chunks (`want`, answered `grant`: taken from the node's tenant and actor buckets there, so
 *   the limits stay the node's, whatever connection a message arrives on). It goes on marked
 *   prepaid, and the main thread does not take a token for it again;
 * - with no token left (the main thread answered none, and how long to refuse), it is refused
 *   here: an ask is answered `overloaded` with the node's reason, a tell counted, and the
 *   counts go to the main thread with the next batch (the node's ledger: received and
 *   rejected at once, so its identity holds at every moment);
 * - while tokens are being asked for, the actor's messages wait here in order (up to
 *   WAITING_MAX, then they go on unpaid, and the main thread checks their rate itself);
 * - anything else (a subject that does not parse, a pool address, a runtime tag) goes on as it is.
 * Messages go on in batches of BATCH, their bodies transferred, not copied; past MAX_UNACKED not
 * yet dispatched by the main thread the socket is no longer read, so a main thread that falls
 * behind leaves the backlog on the server, as a paced connection does.
 */
import { readlinkSync } from "node:fs"
import { getPriority, setPriority } from "node:os"
import { parentPort, workerData } from "node:worker_threads"
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core"
import { connectNats } from "../client/connect-nats.ts"
import { replyOf } from "../client/msg-reply.ts"
import { holdReads, paceReads } from "../client/paced-reads.ts"
import { watchConnection } from "../cluster/out-of-touch.ts"
import { POOL_ID } from "../../subjects/elastic.ts"
import { partitionQueue, partitionSubscription, SubjectError } from "../../subjects/grammar.ts"
import { parseInboundOnce, type Inbound } from "../../subjects/inbound.ts"
import { BATCH, MAX_UNACKED, READER_NICE, WAITING_MAX, type Forwarded, type FromReader, type LaneThreadData, type Refused, type ToReader } from "./lane-protocol.ts"

interface Allowance {
  tokens: number
  /** A `want` is unanswered. */
  asked: boolean
  /** Messages waiting for its answer, with their subscription. */
  waiting: Array<[number, Msg, Inbound]>
  refuseUntil: number
  reason: string
  /** The `overloaded` envelope for an ask refused with `reason`. */
  answer: Uint8Array | undefined
  /** A message came since the last sweep. */
  seen: boolean
}

/**
 * Gives this thread a lower CPU priority than the node's main thread (Linux: `nice` is per
 * thread, and /proc/thread-self names this one), so on a machine the flood saturates, the
 * handlers of every tenant run first and the flood's reading gets what is left; its backlog
 * waits on the server meanwhile. Elsewhere, or where it is refused, it stays as it is.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop())
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + READER_NICE))
  } catch {
    // not Linux, or not allowed: the same priority as the main thread
  }
}

const port = parentPort!
const { servers, name, credentials } = workerData as LaneThreadData
const post = (m: FromReader, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer)

const subs = new Map<number, Subscription>()
const allowances = new Map<string, Allowance>()
let out: Forwarded[] = []
let transfer: ArrayBuffer[] = []
const refused = new Map<string, Refused>()
let unacked = 0
let backpressure: (() => void) | undefined
const holds: Array<() => void> = []
let scheduled = false

const send = () => {
  scheduled = false
  if (out.length === 0 && refused.size === 0) return
  const msgs = out
  const buffers = transfer
  out = []
  transfer = []
  const r = [...refused.values()]
  refused.clear()
  unacked += msgs.length
  post({ op: "batch", msgs, refused: r }, buffers)
  if (unacked >= MAX_UNACKED && backpressure === undefined) backpressure = holdReads(nc)
}
const schedule = () => {
  if (scheduled) return
  scheduled = true
  setImmediate(send)
}

const forward = (sub: number, m: Msg, prepaid: boolean) => {
  // a copy of the body alone in a buffer of its own (the message is a view of nats.js's read
  // buffer, and a Buffer's slice would be too), handed over
  const data = new Uint8Array(m.data)
  const h = m.headers
  const headers = h === undefined ? undefined : h.keys().map((k): [string, string[]] => [k, h.values(k)])
  out.push([sub, m.subject, replyOf(m) ?? "", data, headers, prepaid])
  transfer.push(data.buffer)
  if (out.length >= BATCH) send()
  else schedule()
}

const refuse = (m: Msg, p: Inbound, reason: string, answer: Uint8Array | undefined) => {
  if (replyOf(m)) {
    try {
      m.respond(answer)
    } catch {
      // closing
    }
  }
  const k = `${p.type}\u0000${p.tenant}`
  const row = refused.get(k)
  if (row === undefined) refused.set(k, [p.type, p.tenant, 1, reason, m.subject])
  else {
    row[2]++
    row[3] = reason
  }
  schedule()
}

/** Passes on, in order and unpaid, what waits for `a`'s tokens (the main thread checks their rate). */
const passOnUnpaid = (a: Allowance) => {
  for (const [s, m] of a.waiting) forward(s, m, false)
  a.waiting = []
}

const take = (sub: number) => (err: Error | null, m: Msg) => {
  if (err !== null) return
  const p = parseInboundOnce(m.subject)
  if (p instanceof SubjectError || p.id === POOL_ID || p.tag.charCodeAt(0) === 95 /* _ */) return forward(sub, m, false)
  let a = allowances.get(p.typeKey)
  if (a === undefined) {
    a = { tokens: 0, asked: false, waiting: [], refuseUntil: 0, reason: "", answer: undefined, seen: true }
    allowances.set(p.typeKey, a)
  }
  a.seen = true
  if (a.tokens > 0 && a.waiting.length === 0) {
    a.tokens--
    return forward(sub, m, true)
  }
  if (!a.asked && Date.now() < a.refuseUntil) return refuse(m, p, a.reason, a.answer)
  a.waiting.push([sub, m, p])
  // the main thread is slow to answer: these go on, in order, and it checks their rate itself
  if (a.waiting.length > WAITING_MAX) passOnUnpaid(a)
  if (!a.asked) {
    a.asked = true
    post({ op: "want", key: p.typeKey, tenant: p.tenant })
  }
}

const granted = (key: string, n: number, retryMs: number, reason: string, answer: Uint8Array | undefined) => {
  const a = allowances.get(key)
  if (a === undefined) return
  a.asked = false
  // -1: the main thread checks these itself
  if (n < 0) return passOnUnpaid(a)
  a.tokens += n
  if (n === 0) {
    a.refuseUntil = Date.now() + retryMs
    a.reason = reason
    a.answer = answer
  }
  const waiting = a.waiting
  let i = 0
  for (; i < waiting.length && a.tokens > 0; i++) {
    a.tokens--
    forward(waiting[i]![0], waiting[i]![1], true)
  }
  if (i === waiting.length) {
    a.waiting = []
    return
  }
  if (n > 0) {
    // more wait than this chunk covered: they keep their place, and more tokens are asked for
    a.waiting = waiting.slice(i)
    a.asked = true
    post({ op: "want", key, tenant: waiting[i]![2].tenant })
    return
  }
  a.waiting = []
  for (; i < waiting.length; i++) refuse(waiting[i]![1], waiting[i]![2], reason, answer)
}

/** Passes on unpaid what waits for tokens from subscription `sub` (it is going away: nothing of it may come after its `drained`). */
const releaseWaiting = (sub: number) => {
  for (const a of allowances.values()) if (a.waiting.some(([s]) => s === sub)) passOnUnpaid(a)
}

// allowances of actors not heard from since the last sweep are dropped (their unused tokens with them)
const sweep = setInterval(() => {
  for (const [k, a] of allowances) {
    if (!a.seen && !a.asked) allowances.delete(k)
    a.seen = false
  }
}, 2_000)
sweep.unref()

lowerPriority()

let nc: NatsConnection
try {
  nc = await connectNats(servers, name, credentials)
} catch (e) {
  post({ op: "failed", error: (e as Error).message })
  process.exit(1)
}
paceReads(nc)
const info = () => (nc.info === undefined ? undefined : { server_id: nc.info.server_id, client_id: nc.info.client_id })
post({ op: "status", up: true, info: info() })
watchConnection(nc, (_c, up) => post(up ? { op: "status", up, info: info() } : { op: "status", up }), () => false)

port.on("message", (m: ToReader) => {
  switch (m.op) {
    case "sub":
      subs.set(m.sub, nc.subscribe(partitionSubscription(m.p), { queue: partitionQueue(m.p), callback: take(m.sub) }))
      return
    case "drain":
    case "unsub": {
      const s = subs.get(m.sub)
      subs.delete(m.sub)
      const gone = m.op === "unsub" ? Promise.resolve(s?.unsubscribe()) : (s?.drain() ?? Promise.resolve()).catch(() => s?.unsubscribe())
      void gone.finally(() => {
        // what the subscription delivered goes first
        releaseWaiting(m.sub)
        send()
        post({ op: "drained", sub: m.sub })
      })
      return
    }
    case "flush":
      void nc.flush().catch(() => undefined).finally(() => post({ op: "flushed", id: m.id }))
      return
    case "hold":
      holds.push(holdReads(nc))
      return
    case "release":
      holds.shift()?.()
      return
    case "grant":
      granted(m.key, m.n, m.retryMs, m.reason, m.answer)
      return
    case "ack":
      unacked -= m.n
      if (backpressure !== undefined && unacked < MAX_UNACKED / 2) {
        backpressure()
        backpressure = undefined
      }
      return
    case "close":
      clearInterval(sweep)
      send()
      void nc.close().finally(() => port.close())
      return
  }
})
