/**
 * Two costs of nats.js that the runtime's connections (connect-nats.ts) do without; neither
 * changes what is sent, in what order, or what a caller sees.
 *
 * Socket writes coalesced per event-loop turn. nats.js writes its outbound buffer to the socket
 * once per microtask checkpoint: a process that handles many I/O events in one poll phase (a
 * thousand model answers landing together, each publishing a journal write and a reply) makes
 * one `write` system call per event. The coalescing transport corks the socket at a turn's
 * first frame and uncorks it in `setImmediate`, after the poll phase: every frame of the turn
 * leaves in one `writev`. Order is kept (one socket, one queue); a frame waits at most until
 * the end of the current loop turn. In llm-swarm (1,000 turns waiting on a model) socket
 * writes were 21% of the node's CPU before.
 *
 * No error for an answered request. nats.js's `RequestOne` resolves a request with its answer,
 * then calls `cancel()`, which rejects the (already settled) promise with a new
 * `RequestError("cancelled")`: a stack capture per answered request, thrown away (3 to 4% of
 * the node's CPU in llm-swarm). The rejection of a settled promise does nothing, so it is
 * skipped for a request already answered; a request cancelled before its answer is rejected
 * as before.
 */
import type { Socket } from "node:net"
import { NatsConnectionImpl, RequestOne, setTransportFactory } from "@nats-io/nats-core/internal"
import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core"
import { NodeTransport, nodeResolveHost } from "@nats-io/transport-node/lib/node_transport.js"

class CoalescingTransport extends NodeTransport {
  private corked: Socket | undefined

  override send(frame: Uint8Array): void {
    const s = this.socket as Socket | undefined
    if (s && this.corked !== s && !s.destroyed) {
      s.cork()
      this.corked = s
      setImmediate(() => {
        if (this.corked === s) this.corked = undefined
        s.uncork()
      })
    }
    super.send(frame)
  }
}

type Answerable = { resolver(err: Error | null, msg: unknown): void; cancel(err?: Error): void; answered?: boolean }

let requestsPatched = false
function skipCancelErrorOfAnsweredRequests(): void {
  if (requestsPatched) return
  requestsPatched = true
  const proto = RequestOne.prototype as unknown as Answerable
  const { resolver, cancel } = proto
  proto.resolver = function (this: Answerable, err, msg) {
    this.answered = true
    resolver.call(this, err, msg)
  }
  proto.cancel = function (this: Answerable & { timer?: { cancel(): void }; mux: { cancel(r: unknown): void } }, err) {
    if (err !== undefined || !this.answered) return cancel.call(this, err)
    // answered: the promise is settled; only the timer and the mux entry are left to clear
    this.timer?.cancel()
    this.mux.cancel(this)
  }
}

/** nats.js's `connect` (transport-node) with the coalescing transport and answered requests left without an error. */
export function connectTuned(options: ConnectionOptions): Promise<NatsConnection> {
  skipCancelErrorOfAnsweredRequests()
  // the factory is process-wide in nats.js; transport-node's own `connect` sets its plain one back
  setTransportFactory({ factory: () => new CoalescingTransport(), dnsResolveFn: nodeResolveHost })
  return NatsConnectionImpl.connect(options)
}
