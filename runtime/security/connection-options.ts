/**
 * How every ANTS connection authenticates: one function turns what the user gave (options, the
 * server URL, the environment) into nats.js `ConnectionOptions`. Every CLI command, `startNode`
 * and `connectClient` connect through it, so they accept the same credentials in the same
 * conventions as the `nats` command line:
 *
 *   option      environment      meaning
 *   user        NATS_USER        user name (NATS_USER without NATS_PASSWORD is a token, as in `nats`)
 *   password    NATS_PASSWORD    password
 *   token       NATS_TOKEN       token
 *   creds       NATS_CREDS       credentials file (.creds: JWT and nkey seed)
 *   nkey        NATS_NKEY        nkey seed file (what `ants auth init` writes, `<name>.nk`)
 *   tlsCert     NATS_CERT        client certificate (PEM), with tlsKey
 *   tlsKey      NATS_KEY         its private key
 *   tlsCa       NATS_CA          certificate authority that signed the server's certificate
 *
 * Credentials in the URL work too: `nats://user:password@host:4222` (user and password) and
 * `nats://token@host:4222` (a token). They are taken out of the URL before it reaches nats.js
 * (which would otherwise ignore them) and never printed: `redactUrl` hides them in messages.
 * Precedence: an explicit option, then the URL, then the environment. A `tls://` URL or any TLS
 * file makes the connection require TLS.
 */
import { TaggedError } from "../../subjects/errors.ts"
import { readFileSync } from "node:fs"
import {
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type ConnectionOptions,
  type TlsOptions,
} from "@nats-io/nats-core"

export class SecurityConfigError extends TaggedError("SecurityConfigError") {}

/** Credentials and TLS files, as options or flags (paths are files on this machine). */
export interface Credentials {
  readonly user?: string
  readonly password?: string
  readonly token?: string
  /** A `.creds` file (JWT + seed). */
  readonly creds?: string
  /** An nkey seed file. */
  readonly nkey?: string
  readonly tlsCert?: string
  readonly tlsKey?: string
  readonly tlsCa?: string
}

/** What `connectionOptions` returns: ready for `connect()`, plus a printable description. */
export interface ResolvedConnection {
  /** The server URLs without their credentials. */
  readonly servers: string[]
  readonly options: Pick<ConnectionOptions, "servers" | "authenticator" | "tls">
  /** How the connection authenticates, without secrets ("nkey /path/node.nk, TLS"). */
  readonly auth: string
}

type Env = Readonly<Record<string, string | undefined>>

export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222"

/** Hides credentials in a URL (or comma-separated list) for messages and logs. */
export function redactUrl(urls: string): string {
  return urls
    .split(",")
    .map((u) => u.trim().replace(/^([a-z]+:\/\/)[^@/]*@/i, "$1***@"))
    .join(",")
}

/** Splits `nats://user:pw@host:4222` into the bare URL and its credentials. */
export function splitUrlCredentials(url: string): { url: string; user?: string; password?: string; token?: string } {
  const m = /^([a-z]+:\/\/)?([^@/]*)@(.*)$/i.exec(url.trim())
  if (!m) return { url: url.trim() }
  const bare = `${m[1] ?? ""}${m[3]}`
  const info = m[2]
  const colon = info.indexOf(":")
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s)
    } catch {
      return s
    }
  }
  if (colon < 0) return { url: bare, token: dec(info) }
  return { url: bare, user: dec(info.slice(0, colon)), password: dec(info.slice(colon + 1)) }
}

function readFile(what: string, file: string): Uint8Array {
  try {
    return readFileSync(file)
  } catch (e) {
    throw new SecurityConfigError(`cannot read the ${what} ${file}: ${(e as Error).message}`, { cause: e })
  }
}

/** The seed in an nkey file: the first line that looks like a seed (S...), comments allowed. */
export function seedFromFile(file: string): Uint8Array {
  const text = new TextDecoder().decode(readFile("nkey seed file", file))
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => /^S[A-Z2-7]{50,}$/.test(l))
  if (!line) throw new SecurityConfigError(`${file} holds no nkey seed (a line beginning with S, as written by \`ants auth init\` or \`nk -gen user\`)`)
  return new TextEncoder().encode(line)
}

/** A credentials file's bytes, checked for its two parts (a user JWT and an nkey seed) before any connection. */
export function credsFromFile(file: string): Uint8Array {
  const data = readFile("credentials file", file)
  const text = new TextDecoder().decode(data)
  const jwt = /-{3,}BEGIN NATS USER JWT-{3,}\s*\n\s*[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/.test(text)
  const seed = /-{3,}BEGIN USER NKEY SEED-{3,}\s*\n\s*SU[A-Z2-7]{50,}/.test(text)
  if (!jwt || !seed) {
    throw new SecurityConfigError(`${file} is not a NATS credentials file: it needs a "BEGIN NATS USER JWT" block and a "BEGIN USER NKEY SEED" block (as \`nsc generate creds\` writes)${jwt ? "; the seed is missing" : seed ? "; the JWT is missing" : ""}`)
  }
  return data
}

/**
 * Resolves servers and credentials. `servers`: comma-separated URLs (default NATS_URL, else
 * nats://127.0.0.1:4222).
 */
export function connectionOptions(servers: string | undefined, given: Credentials = {}, env: Env = process.env): ResolvedConnection {
  const list = (servers || env.NATS_URL || DEFAULT_NATS_URL).split(",").map((s) => s.trim()).filter(Boolean)
  const split = list.map(splitUrlCredentials)
  const fromUrl = split.find((s) => s.user !== undefined || s.token !== undefined)
  const pick = <K extends keyof Credentials>(k: K, envName: string): string | undefined => given[k] || env[envName] || undefined

  let user = given.user
  let password = given.password
  let token = given.token
  if (user === undefined && token === undefined && fromUrl) {
    user = fromUrl.user
    password = fromUrl.password
    token = fromUrl.token
  }
  if (user === undefined && token === undefined) {
    token = env.NATS_TOKEN || undefined
    if (env.NATS_USER) {
      // as in the `nats` CLI: a user without a password is a token
      if (env.NATS_PASSWORD) {
        user = env.NATS_USER
        password = env.NATS_PASSWORD
      } else token ??= env.NATS_USER
    }
  }
  const creds = pick("creds", "NATS_CREDS")
  const nkey = pick("nkey", "NATS_NKEY")
  const authenticators: Authenticator[] = []
  const described: string[] = []
  if (creds) {
    authenticators.push(credsAuthenticator(credsFromFile(creds)))
    described.push(`credentials ${creds}`)
  } else if (nkey) {
    const seed = seedFromFile(nkey)
    authenticators.push(nkeyAuthenticator(seed))
    described.push(`nkey ${nkey}`)
  }
  if (user !== undefined) {
    authenticators.push(usernamePasswordAuthenticator(user, password ?? ""))
    described.push(`user ${user}`)
  } else if (token !== undefined) {
    authenticators.push(tokenAuthenticator(token))
    described.push("token")
  }

  const tlsCert = pick("tlsCert", "NATS_CERT")
  const tlsKey = pick("tlsKey", "NATS_KEY")
  const tlsCa = pick("tlsCa", "NATS_CA")
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new SecurityConfigError(`a client certificate needs both its certificate and its key (--tls-cert/NATS_CERT and --tls-key/NATS_KEY); got only the ${tlsCert ? "certificate" : "key"}`)
  }
  let tls: TlsOptions | undefined
  if (tlsCert || tlsCa || split.some((s) => /^tls:\/\//i.test(s.url))) {
    tls = {}
    if (tlsCert) Object.assign(tls, { certFile: tlsCert, keyFile: tlsKey })
    if (tlsCa) Object.assign(tls, { caFile: tlsCa })
    for (const f of [tlsCert, tlsKey, tlsCa]) if (f) readFile("TLS file", f)
    described.push(tlsCert ? "TLS with a client certificate" : "TLS")
  }
  const bare = split.map((s) => s.url)
  const options: ResolvedConnection["options"] = {
    servers: bare,
    ...(authenticators.length === 1 ? { authenticator: authenticators[0] } : authenticators.length > 1 ? { authenticator: authenticators } : {}),
    ...(tls ? { tls } : {}),
  }
  return { servers: bare, options, auth: described.length > 0 ? described.join(", ") : "anonymous" }
}
