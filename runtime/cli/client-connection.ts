/**
 * Where client commands find NATS: `--nats`, then `NATS_URL`, then the embedded server of a node
 * started on this machine with no `--nats` (its URL is left in a file under the temporary folder
 * while it runs), then nats://127.0.0.1:4222. A stale URL file (its node is gone, or its server
 * does not answer) is removed with a note on stderr.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"
import { clearEmbeddedUrl, isProcessAlive, readEmbeddedUrl } from "./embedded-url.ts"
import type { Io } from "./io.ts"

/** A failure to do what was asked (not a usage error), with the exit code to end with. */
export class CliError extends Error {
  readonly _tag = "CliError"
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
    this.name = "CliError"
  }
}

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222"

/**
 * A client connection like a node's (every listed server, reconnecting), opened here rather
 * than through the node module: a client command then loads only what it uses, not the whole
 * runtime.
 */
async function connectNats(servers: string, name: string): Promise<NatsConnection> {
  return await connect({ servers: servers.split(",").map((s) => s.trim()).filter(Boolean), name, maxReconnectAttempts: -1, reconnectTimeWait: 250 })
}

/**
 * Where client commands find NATS. The embedded server's file is skipped (with a note on
 * stderr) when the node that wrote it is no longer running: a crash leaves it behind.
 */
export function resolveNatsUrl(flag: string | undefined, io?: Io): { url: string; source: "flag" | "env" | "embedded" | "default" } {
  if (flag) return { url: flag, source: "flag" }
  if (process.env.NATS_URL) return { url: process.env.NATS_URL, source: "env" }
  const e = readEmbeddedUrl()
  if (e) {
    if (e.pid === undefined || isProcessAlive(e.pid)) return { url: e.url, source: "embedded" }
    io?.err(`ants: ignoring ${e.file}: the node (pid ${e.pid}) that started the embedded nats-server at ${e.url} is no longer running; trying ${DEFAULT_NATS_URL}`)
    clearEmbeddedUrl(e.url)
  }
  return { url: DEFAULT_NATS_URL, source: "default" }
}

export async function clientConnection(flag: string | undefined, io: Io): Promise<NatsConnection> {
  let { url, source } = resolveNatsUrl(flag, io)
  if (source === "embedded") {
    try {
      return await connectNats(url, "ants-cli")
    } catch (e) {
      io.err(`ants: the embedded nats-server at ${url} (from ${readEmbeddedUrl()?.file ?? "its URL file"}) does not answer (${(e as Error).message}); the file is stale, trying ${DEFAULT_NATS_URL}`)
      clearEmbeddedUrl(url)
      url = DEFAULT_NATS_URL
    }
  }
  try {
    return await connectNats(url, "ants-cli")
  } catch (e) {
    throw new CliError(
      `cannot connect to NATS at ${url} (${(e as Error).message}). Start a node first (\`npx ants node --agents ./actors/examples/index.ts\`), or pass --nats <url> / set NATS_URL.`,
      2,
    )
  }
}
