import type { NatsConnection } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"

/** Connects to NATS the way the runtime always does (endless reconnect). */
export async function connectNats(servers: string, name: string): Promise<NatsConnection> {
  return await connect({
    servers: servers.split(",").map((s) => s.trim()).filter(Boolean),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
  })
}
