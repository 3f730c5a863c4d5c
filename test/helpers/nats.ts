/**
 * Test brokers: a real nats-server per test file (random port, temporary JetStream store,
 * the project's nats.conf), or a cluster of three started from the shipped nats-cluster/ files. Fails loudly with an install hint when the
 * binary is missing.
 */
import { afterAll, beforeAll } from "vitest"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { startNatsCluster, startNatsServer, type NatsCluster, type NatsServer, type NatsServerOptions } from "../../runtime/server/nats-server.ts"

export { startNatsCluster, startNatsServer, type NatsCluster, type NatsServer }

/** Starts a server for one test file; call the returned `stop` in afterAll. */
export async function natsFixture(options: NatsServerOptions = {}): Promise<NatsServer> {
  return await startNatsServer(options)
}

/**
 * A plain nats.js connection, as any outside client would have. `url` may list several servers,
 * comma-separated (a cluster's `urls`): each becomes a server of the connection, so it fails
 * over to another when its server goes.
 */
export async function rawConnect(url: string): Promise<NatsConnection> {
  const servers = url.split(",").map((s) => s.trim()).filter(Boolean)
  return await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
}

/**
 * One server and one raw connection for the test file that calls this at its top level:
 * started in `beforeAll`, closed in `afterAll`. Read `server` and `nc` inside tests (they are
 * set once `beforeAll` ran), or pass `ready` to have them handed over, e.g. to a file's own
 * `let server` and `let nc`: `natsPerFile({}, (s, c) => ([server, nc] = [s, c]))`.
 */
export function natsPerFile(
  options: NatsServerOptions = {},
  ready?: (server: NatsServer, nc: NatsConnection) => void,
): { readonly server: NatsServer; readonly nc: NatsConnection } {
  let server: NatsServer | undefined
  let nc: NatsConnection | undefined
  beforeAll(async () => {
    server = await natsFixture(options)
    nc = await rawConnect(server.url)
    ready?.(server, nc)
  })
  afterAll(async () => {
    await nc?.close()
    await server?.stop()
  })
  const set = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`natsPerFile: ${what} is read before beforeAll ran`)
    return v
  }
  return {
    get server() {
      return set(server, "server")
    },
    get nc() {
      return set(nc, "nc")
    },
  }
}
