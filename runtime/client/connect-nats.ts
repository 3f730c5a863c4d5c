import type { NatsConnection } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"

/**
 * Connects to NATS the way the runtime always does (endless reconnect). A link that dies without
 * a word (a network partition: no FIN, no RST) is noticed by unanswered pings: every 2 s, three
 * missed, so a node moves to another server of the cluster within about 8 s.
 */
export async function connectNats(servers: string, name: string): Promise<NatsConnection> {
  return await connect({
    servers: servers.split(",").map((s) => s.trim()).filter(Boolean),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 2_000,
    maxPingOut: 3,
  })
}
