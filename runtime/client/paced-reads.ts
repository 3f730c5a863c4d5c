/**
 * Reads of a connection paced to one slice of at most `sliceBytes` per event-loop turn.
 *
 * Why: libuv reads up to 32 chunks of 64 KiB from a busy socket before it looks at any other
 * (uv__read's starvation guard), and nats.js parses and dispatches each chunk as it comes, so a
 * connection carrying a flood holds the event loop for tens of milliseconds per turn while the
 * messages of every other connection (another tenant's asks, the replies a handler awaits) wait
 * behind it. Pausing after each chunk is not enough: one 64 KiB chunk is about 500 small
 * messages, a millisecond or more of parsing and dispatch on a loaded machine, and an ask
 * arriving on another connection waits for all of it. So each chunk is handed to nats.js in
 * slices (its parser takes a message split across slices), one slice per turn, with the socket
 * paused until the chunk is used up: between two slices the loop polls every other connection,
 * so a quiet tenant's message waits for at most one slice of a flood (about 60 messages at the
 * default 8 KiB), not a chunk, and the flood's backlog stays in the kernel and on the server,
 * behind this connection only. A chunk that fits one slice is handed over at once, as before.
 *
 * A connection whose reads wait (a chunk still being sliced, or held) does not read the server's
 * PINGs either, and a server drops a client that leaves `ping_max` PINGs unanswered (ANTS's
 * servers ping every 2 s, twice): on a loaded machine a paced backlog of a few MiB takes longer
 * than that to hand over, and the drop would lose every message queued for the connection. So
 * while reads wait, the connection sends a PING of its own every KEEPALIVE_MS: a client the
 * server hears from is not pinged (the server delays its PINGs after client activity).
 *
 * nats.js has no option for this; the socket is reached through its transport
 * (`protocol.transport.socket`, @nats-io/transport-node 3.x), whose one `data` listener is
 * wrapped, and the pacing is attached again after each reconnect (a new socket). Where that
 * shape is not found, `paceReads` returns false and nothing changes (the caller says so once).
 */
import type { NatsConnection } from "@nats-io/nats-core"

/** Bytes handed to nats.js per event-loop turn: about 60 messages of 64-byte bodies. */
export const SLICE_BYTES = 8 * 1024

/** How often a connection whose reads wait tells the server it is alive (under ANTS's 2 s ping interval). */
export const KEEPALIVE_MS = 1_000

type DataListener = (chunk: Uint8Array) => unknown

interface PausableSocket {
  on(event: "data", listener: DataListener): unknown
  off(event: "data", listener: DataListener): unknown
  listeners(event: "data"): DataListener[]
  pause(): unknown
  resume(): unknown
  readonly destroyed?: boolean
}

function socketOf(nc: NatsConnection): PausableSocket | undefined {
  const s = (nc as unknown as { protocol?: { transport?: { socket?: unknown } } }).protocol?.transport?.socket as Partial<PausableSocket> | undefined
  return s && typeof s.on === "function" && typeof s.off === "function" && typeof s.listeners === "function" && typeof s.pause === "function" && typeof s.resume === "function" ? (s as PausableSocket) : undefined
}

interface Pacer {
  holds: number
  /** Hands over what a hold kept back (the socket resumes once it is used up). */
  wake(): void
}

const pacers = new WeakMap<NatsConnection, Pacer>()

/**
 * Stops handing `nc`'s reads to nats.js until the returned function is called (holds nest):
 * what the server sends it meanwhile waits on the server, behind this connection only. For a
 * connection whose messages would only be held anyway (runtime/node/inbound-lanes.ts: a lane
 * while the partition's old subscription drains), so the loop spends its turns on the backlog
 * that must go first. A no-op on a connection `paceReads` did not pace.
 */
export function holdReads(nc: NatsConnection): () => void {
  const pacer = pacers.get(nc)
  if (pacer === undefined) return () => undefined
  pacer.holds++
  let released = false
  return () => {
    if (released) return
    released = true
    if (--pacer.holds === 0) pacer.wake()
  }
}

/** Paces `nc`'s reads (and its reconnections') to `sliceBytes` per turn; false when its socket cannot be reached. */
export function paceReads(nc: NatsConnection, sliceBytes = SLICE_BYTES): boolean {
  const slice = Math.max(1, Math.floor(sliceBytes))
  const pacer: Pacer = { holds: 0, wake: () => undefined }
  let attached: PausableSocket | undefined
  /** True while reads wait on this side: a chunk still being sliced, or a hold. */
  let waiting = (): boolean => false
  const attach = (): boolean => {
    const socket = socketOf(nc)
    if (socket === undefined) return false
    if (socket === attached) return true
    // nats.js's transport has one data listener (it queues the chunk for its parser)
    const theirs = socket.listeners("data")
    if (theirs.length !== 1) return false
    const deliver = theirs[0]
    attached = socket
    let chunk: Uint8Array | undefined
    let offset = 0
    let scheduled = false
    // one turn: the next slice of the chunk, or (the chunk used up) the socket resumed, so a
    // chunk read on resume is not handed over in the same turn as the last one's tail
    const next = () => {
      scheduled = false
      if (socket.destroyed) {
        chunk = undefined
        return
      }
      // held: the socket stays paused, the chunk waits; the release schedules the next turn
      if (pacer.holds > 0) return
      if (chunk === undefined) {
        socket.resume()
        return
      }
      const end = Math.min(offset + slice, chunk.length)
      const part = chunk.subarray(offset, end)
      offset = end
      if (offset >= chunk.length) chunk = undefined
      schedule()
      deliver.call(socket, part)
    }
    const schedule = () => {
      if (scheduled) return
      scheduled = true
      setImmediate(next)
    }
    const ours: DataListener = (data) => {
      socket.pause()
      if (chunk !== undefined) {
        // a chunk read before the pause took effect: keep the order
        const rest = chunk.subarray(offset)
        const joined = new Uint8Array(rest.length + data.length)
        joined.set(rest)
        joined.set(data, rest.length)
        chunk = joined
        offset = 0
      } else if (pacer.holds > 0) {
        chunk = data
        offset = 0
      } else if (data.length <= slice) {
        deliver.call(socket, data)
      } else {
        chunk = data
        offset = slice
        deliver.call(socket, data.subarray(0, slice))
      }
      schedule()
    }
    socket.off("data", deliver)
    socket.on("data", ours)
    pacer.wake = schedule
    waiting = () => !socket.destroyed && (chunk !== undefined || pacer.holds > 0)
    return true
  }
  if (!attach()) return false
  pacers.set(nc, pacer)
  const keepalive = setInterval(() => {
    // the PONG is read behind the backlog, in order; the flush's promise settles then
    if (waiting() && !nc.isClosed()) nc.flush().catch(() => undefined)
  }, KEEPALIVE_MS)
  keepalive.unref()
  void nc.closed().finally(() => clearInterval(keepalive))
  void (async () => {
    for await (const s of nc.status()) if (s.type === "reconnect") attach()
  })().catch(() => undefined)
  return true
}
