import type { NatsConnection } from "@nats-io/nats-core"
import { connectTuned } from "./nats-tuning.ts"
import { connectionOptions, type Credentials } from "../security/connection-options.ts"

/**
 * Connects to NATS the way the runtime always does (endless reconnect), authenticating with the
 * credentials given, in the URL or in the environment (runtime/security/connection-options.ts).
 * A link that dies without a word (a network partition: no FIN, no RST) is noticed by unanswered
 * pings: every 2 s, three missed, so a node moves to another server of the cluster within about 8 s.
 * No async traces: nats.js would otherwise build an Error (a stack capture) for every request and
 * every timer it arms, which at thousands of KV operations a second was a fifth of a busy node's
 * CPU; a request's error still says what failed, only without the caller's stack.
 * Socket writes are coalesced per event-loop turn, and an answered request builds no error (nats-tuning.ts).
 */
export async function connectNats(servers: string, name: string, credentials: Credentials = {}, extra: { inboxPrefix?: string } = {}): Promise<NatsConnection> {
  return await connectTuned({
    ...connectionOptions(servers, credentials).options,
    ...extra,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 2_000,
    maxPingOut: 3,
    noAsyncTraces: true,
  })
}
