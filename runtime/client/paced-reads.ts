/**
 * Reads of a connection paced to one socket chunk per event-loop turn.
 *
 * Why: libuv reads up to 32 chunks of 64 KiB from a busy socket before it looks at any other
 * (uv__read's starvation guard), and nats.js parses and dispatches each chunk as it comes, so a
 * connection carrying a flood holds the event loop for tens of milliseconds per turn while the
 * messages of every other connection (another tenant's asks, the replies a handler awaits) wait
 * behind it. Paused after each chunk and resumed on the next turn (`setImmediate`), a busy
 * connection is read as fast as the process can parse it, one chunk at a time, in turn with
 * every other connection and timer: a turn costs one chunk's parsing (about 500 small
 * messages), not 32.
 *
 * nats.js has no option for this; the socket is reached through its transport
 * (`protocol.transport.socket`, @nats-io/transport-node 3.x) and the pacing is attached again
 * after each reconnect (a new socket). Where that shape is not found, `paceReads` returns false
 * and nothing changes (the caller says so once).
 */
import type { NatsConnection } from "@nats-io/nats-core"

interface PausableSocket {
  on(event: "data", listener: () => void): unknown
  off(event: "data", listener: () => void): unknown
  pause(): unknown
  resume(): unknown
  readonly destroyed?: boolean
}

function socketOf(nc: NatsConnection): PausableSocket | undefined {
  const s = (nc as unknown as { protocol?: { transport?: { socket?: unknown } } }).protocol?.transport?.socket as Partial<PausableSocket> | undefined
  return s && typeof s.on === "function" && typeof s.off === "function" && typeof s.pause === "function" && typeof s.resume === "function" ? (s as PausableSocket) : undefined
}

/** Paces `nc`'s reads (and its reconnections'); false when its socket cannot be reached. */
export function paceReads(nc: NatsConnection): boolean {
  let attached: PausableSocket | undefined
  const attach = (): boolean => {
    const socket = socketOf(nc)
    if (socket === undefined) return false
    if (socket === attached) return true
    attached = socket
    let scheduled = false
    socket.on("data", () => {
      if (scheduled) return
      scheduled = true
      socket.pause()
      setImmediate(() => {
        scheduled = false
        if (!socket.destroyed) socket.resume()
      })
    })
    return true
  }
  if (!attach()) return false
  void (async () => {
    for await (const s of nc.status()) if (s.type === "reconnect") attach()
  })().catch(() => undefined)
  return true
}
