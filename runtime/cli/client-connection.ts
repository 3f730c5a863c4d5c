/**
 * How client commands reach and authenticate to NATS: the `nats` CLI's flags, then the URL's
 * credentials and the environment (runtime/security/connection-options.ts), and where the URL
 * comes from (`--nats`, NATS_URL, a local node's embedded server if its file may be trusted,
 * nats://127.0.0.1:4222).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { connectNats } from "../client/connect-nats.ts"
import { tenantInboxPrefix } from "../../subjects/permissions.ts"
import { redactUrl, type Credentials } from "../security/connection-options.ts"
import { CliError } from "./cli-error.ts"
import { clearEmbeddedUrl, distrustEmbeddedUrl, isProcessAlive, readEmbeddedUrl } from "./embedded-url.ts"
import type { Io } from "./io.ts"

export { CliError }

/** The credential flags every client command and `ants node` take (declared once in commands.ts). */
export const CREDENTIAL_FLAGS = ["user", "password", "token", "creds", "nkey", "tls-cert", "tls-key", "tls-ca"] as const

/** The credentials given as flags (undefined ones left out, so the URL and the environment still apply). */
export function credentialsOf(values: Partial<Record<(typeof CREDENTIAL_FLAGS)[number], string | undefined>>): Credentials {
  const c: Record<string, string> = {}
  const keys = { user: "user", password: "password", token: "token", creds: "creds", nkey: "nkey", "tls-cert": "tlsCert", "tls-key": "tlsKey", "tls-ca": "tlsCa" } as const
  for (const f of CREDENTIAL_FLAGS) if (values[f] !== undefined) c[keys[f]] = values[f]!
  return c
}

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222"

/**
 * Where client commands find NATS. The embedded server's file is used only when it is private
 * to this user and names a running nats-server (runtime/cli/embedded-url.ts); otherwise it is
 * skipped with the reason on stderr. Credentials come from the URL and the environment
 * (runtime/security/connection-options.ts), or from the embedded server's file.
 */
export function resolveNatsUrl(flag: string | undefined, io?: Io): { url: string; source: "flag" | "env" | "embedded" | "default"; credentials?: Credentials } {
  if (flag) return { url: flag, source: "flag" }
  if (process.env.NATS_URL) return { url: process.env.NATS_URL, source: "env" }
  const e = readEmbeddedUrl()
  if (e) {
    const why = distrustEmbeddedUrl(e)
    if (why === undefined) return { url: e.url, source: "embedded", credentials: e.user ? { user: e.user, password: e.password ?? "" } : {} }
    io?.err(`ants: not trusting ${e.file}: ${why}; trying ${DEFAULT_NATS_URL}`)
    // a file of ours whose server is gone (a crashed node) is removed; anything else is left alone
    if (e.pid !== undefined && !isProcessAlive(e.pid)) clearEmbeddedUrl(e.url)
  }
  return { url: DEFAULT_NATS_URL, source: "default" }
}

/**
 * The reply-inbox prefix the connection's principal may subscribe to. A tenant's principal may
 * only use `_INBOX_<tenant>` (subjects/permissions.ts), so a command run with a tenant's key
 * (`NATS_NKEY=auth/tenants/acme.nk`) must make its inboxes there: the key is recognised as a
 * tenant's through the `principals.json` that `ants auth init` writes beside the keys (in the
 * seed's folder or the one above it). `NATS_INBOX_PREFIX` names the prefix outright, for
 * credentials made elsewhere. Undefined: nats.js's default `_INBOX`.
 */
export function inboxPrefixFor(given: Credentials, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NATS_INBOX_PREFIX) return env.NATS_INBOX_PREFIX
  // the nkey is what authenticates only when no credentials file is given (connection-options.ts)
  if (given.creds || env.NATS_CREDS) return undefined
  const nkey = given.nkey || env.NATS_NKEY
  if (!nkey) return undefined
  const seed = resolve(nkey)
  for (const dir of [dirname(seed), dirname(dirname(seed))]) {
    let doc: { principals?: Array<{ kind?: unknown; tenant?: unknown; seedFile?: unknown }> }
    try {
      doc = JSON.parse(readFileSync(join(dir, "principals.json"), "utf8"))
    } catch {
      continue
    }
    for (const p of doc.principals ?? []) {
      if (typeof p?.seedFile === "string" && resolve(dir, p.seedFile) === seed) return p.kind === "tenant" && typeof p.tenant === "string" ? tenantInboxPrefix(p.tenant) : undefined
    }
  }
  return undefined
}

export async function clientConnection(flag: string | undefined, io: Io, given: Credentials = {}): Promise<NatsConnection> {
  let { url, source, credentials } = resolveNatsUrl(flag, io)
  if (source === "embedded") {
    try {
      return await connectNats(url, "ants-cli", credentials)
    } catch (e) {
      io.err(`ants: the embedded nats-server at ${url} (from ${readEmbeddedUrl()?.file ?? "its URL file"}) does not answer (${(e as Error).message}); the file is stale, trying ${DEFAULT_NATS_URL}`)
      clearEmbeddedUrl(url)
      url = DEFAULT_NATS_URL
    }
  }
  try {
    const inboxPrefix = inboxPrefixFor(given)
    return await connectNats(url, "ants-cli", given, inboxPrefix ? { inboxPrefix } : {})
  } catch (e) {
    throw new CliError(
      `cannot connect to NATS at ${redactUrl(url)} (${(e as Error).message}). Start a node first (\`npx ants node --agents <module>\`), or pass --nats <url> / set NATS_URL (with credentials: nats://user:password@host, NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS or NATS_NKEY).`,
      2,
    )
  }
}
