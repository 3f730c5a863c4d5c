/**
 * How a node reaches NATS: the connection it was given, the server URL(s) of its options or
 * NATS_URL, or an embedded nats-server started for it. Every connection authenticates (the
 * credentials of the options, in the URL or in the environment); the embedded server requires a
 * user and password made for its run. The URL the node reports never carries credentials.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { connectNats } from "../client/connect-nats.ts"
import { startNatsServer, type NatsServer } from "../server/nats-server.ts"
import { redactUrl, type Credentials } from "../security/connection-options.ts"
import type { Logger, NodeOptions } from "./options.ts"

export interface NodeConnection {
  readonly nc: NatsConnection
  /** The server URL(s), credentials hidden (for banners and stats). */
  readonly url: string
  /** The server URL(s) as given (other connections of the node, e.g. its tenants', use them). */
  readonly target: string
  readonly credentials: Credentials
  readonly embedded: NatsServer | undefined
  /** Whether the node opened the connection (and so closes it). */
  readonly ownConnection: boolean
}

export async function connectNode(options: NodeOptions, id: string, log: Logger): Promise<NodeConnection> {
  if (typeof options.nats === "object") {
    const nc = options.nats
    return { nc, url: nc.getServer(), target: nc.getServer(), credentials: options.credentials ?? {}, embedded: undefined, ownConnection: false }
  }
  let embedded: NatsServer | undefined
  let target = options.nats || process.env.NATS_URL
  let credentials = options.credentials ?? {}
  if (!target) {
    embedded = await startNatsServer({ authenticate: true })
    target = embedded.url
    credentials = embedded.credentials ?? {}
    log("info", `started embedded nats-server ${embedded.version} at ${target}`)
  }
  const url = redactUrl(target)
  try {
    const nc = await connectNats(target, `ants-${id}`, credentials)
    return { nc, url, target, credentials, embedded, ownConnection: true }
  } catch (e) {
    await embedded?.stop()
    throw new Error(`cannot connect to NATS at ${url}: ${(e as Error).message}. Is nats-server running there? (start one with \`nats-server -c nats.conf\` or omit --nats to use an embedded one)`, { cause: e })
  }
}
