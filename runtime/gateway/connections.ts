/**
 * The gateway's NATS connections: one per principal (callers sharing a principal share its
 * connection), opened at the first request that needs it and kept. A tenant caller's
 * connection authenticates as that tenant and takes its reply-inbox prefix (`_INBOX_<t>`), so
 * the server checks every subject it touches against the tenant's permissions.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { connectClient, type AntsClient } from "../client/connect-client.ts"
import type { Credentials } from "../security/connection-options.ts"
import type { Caller } from "./principals.ts"

export interface GatewayConnections {
  /** The connection `caller` acts through. */
  of(caller: Caller): Promise<NatsConnection>
  /** How many are open (for the dashboard and tests). */
  readonly open: () => number
  close(): Promise<void>
}

export function gatewayConnections(nats: string | undefined, fallback: Credentials | undefined): GatewayConnections {
  const pool = new Map<string, Promise<AntsClient>>()
  let closed = false
  return {
    of(caller) {
      if (closed) return Promise.reject(new Error("the gateway is closed"))
      let c = pool.get(caller.connectionKey)
      if (c === undefined) {
        const credentials = caller.credentials ?? fallback
        c = connectClient({ nats, ...(credentials ? { credentials } : {}), ...(caller.operator ? {} : { tenant: caller.tenant }) })
        // a failed connect is not kept: the next request tries again
        c.catch(() => pool.delete(caller.connectionKey))
        pool.set(caller.connectionKey, c)
      }
      return c.then((client) => client.nc)
    },
    open: () => pool.size,
    async close() {
      closed = true
      const all = [...pool.values()]
      pool.clear()
      await Promise.all(all.map((p) => p.then((c) => c.close()).catch(() => {})))
    },
  }
}
