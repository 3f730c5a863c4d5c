/**
 * How a node reaches NATS: the connection it was given, the server URL(s) of its options or
 * NATS_URL, or an embedded nats-server started for it. Every connection authenticates (the
 * credentials of the options, in the URL or in the environment); the embedded server requires a
 * user and password made for its run. The URL the node reports never carries credentials.
 *
 * A node that opened its own connection also opens a control connection (membership
 * heartbeats: a flood queued on the main connection must not delay their answers, or the node
 * would take itself for out of touch and refuse work) and, when a partition is flooded,
 * inbound lanes (inbound-lanes.ts, each read on a thread of its own unless `lanes.threads` is false); its own connections' reads are paced (at most one 8 KiB slice per
 * event-loop turn, runtime/client/paced-reads.ts), so no connection holds the loop for long.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { connectNats } from "../client/connect-nats.ts"
import { startNatsServer, type NatsServer } from "../server/nats-server.ts"
import { redactUrl, type Credentials } from "../security/connection-options.ts"
import type { Logger, NodeOptions } from "./options.ts"
import { paceReads } from "../client/paced-reads.ts"
import { createInboundLanes, LANE_DEFAULTS, type InboundLanes, type LaneOptions } from "./inbound-lanes.ts"
import { natsLink, startLaneThread, type LaneAdmission } from "./lane-thread.ts"

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

export interface NodeInbound {
  /** Where membership heartbeats go: a connection of its own, else the main one. */
  readonly controlNc: NatsConnection
  /** Undefined with a connection given to the node (no credentials to open more). */
  readonly lanes: InboundLanes | undefined
  /** Gives the lanes' reader threads the node's rate admission (once its dispatch exists; until then they leave rates to it). */
  admit(admission: LaneAdmission): void
}

export async function connectInbound(c: NodeConnection, id: string, log: Logger, lanes?: LaneOptions): Promise<NodeInbound> {
  if (!c.ownConnection) return { controlNc: c.nc, lanes: undefined, admit: () => undefined }
  const paced = (nc: NatsConnection) => {
    if (!paceReads(nc)) log("warn", `reads of ${nc.info?.client_id ?? "a connection"} cannot be paced with this nats.js (no transport socket found): a flooded connection may hold the event loop for longer`)
    return nc
  }
  paced(c.nc)
  const controlNc = await connectNats(c.target, `ants-${id}-control`, c.credentials).catch((e: unknown) => {
    log("warn", `no control connection (${(e as Error).message}): membership heartbeats share the main connection, and a flood on it can make the node take itself for out of touch`)
    return c.nc
  })
  let admission: LaneAdmission | undefined
  const threads = lanes?.threads ?? LANE_DEFAULTS.threads
  const open = async (name: string) =>
    threads
      ? await startLaneThread({ servers: c.target, credentials: c.credentials, name: `ants-${id}-${name}`, replies: c.nc, admission: () => admission })
      : natsLink(paced(await connectNats(c.target, `ants-${id}-${name}`, c.credentials)), name)
  return { controlNc, lanes: createInboundLanes(c.nc, open, log, lanes), admit: (a) => void (admission = a) }
}
