/**
 * A node's side of liveness: it answers pings on its own subject (a member that missed a
 * heartbeat is probed there; "no responders" means its connection is gone), and it keeps track
 * of its own connection (a node judges others only on a settled connection: membership.ts).
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core"
import { nodePingSubject } from "../../subjects/cluster.ts"

const encoder = new TextEncoder()

/** Answers `ants._sys.node.<id>.ping` with `{"node","incarnation"}`. */
export function answerPings(nc: NatsConnection, node: string, incarnation: string): Subscription {
  const body = encoder.encode(JSON.stringify({ node, incarnation }))
  return nc.subscribe(nodePingSubject(node), {
    callback: (_e, m) => {
      try {
        m.respond(body)
      } catch {
        // closing
      }
    },
  })
}

/** Whether a connection is down now, and when it last came back. */
export class ConnectionState {
  disconnected = false
  reconnectedAt = 0

  constructor(nc: NatsConnection, stopped: () => boolean) {
    void (async () => {
      for await (const st of nc.status()) {
        if (stopped()) break
        if (st.type === "disconnect" || st.type === "reconnecting") this.disconnected = true
        else if (st.type === "reconnect") {
          this.disconnected = false
          this.reconnectedAt = Date.now()
        }
      }
    })().catch(() => undefined)
  }
}
