/**
 * Who may call the gateway: bearer tokens, each standing for one principal of the swarm. A
 * tenant token acts as that tenant's NATS principal (its own connection, with the tenant's
 * credentials: `auth/tenants/<t>.nk` from `ants auth init`), so what it may reach is decided by
 * the NATS server, not only by this code; an operator token acts as the operator principal and
 * may name any tenant. There is no anonymous access: a request without a known token is refused.
 *
 * Tokens are compared by their SHA-256 (the tokens file may hold only the digest), in constant
 * time over the digest.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import { dirname, isAbsolute, resolve } from "node:path"
import { TaggedError } from "../../subjects/errors.ts"
import { isToken } from "../../subjects/grammar.ts"
import { tenantSeedFile } from "../security/auth-init.ts"
import type { Credentials } from "../security/connection-options.ts"

export class GatewayConfigError extends TaggedError("GatewayConfigError") {}

/** One bearer token and the principal it stands for. */
export interface GatewayPrincipal {
  /** The token itself; or give `tokenSha256` (hex) and keep the token out of the configuration. */
  readonly token?: string
  readonly tokenSha256?: string
  /** The tenant this token acts for. Required unless `operator`. */
  readonly tenant?: string
  /** An operator token: every tenant (chosen per request with `?tenant=`), nodes, dead letters. */
  readonly operator?: boolean
  /** The NATS credentials of the principal; default: the gateway's own (see `GatewayOptions`). */
  readonly credentials?: Credentials
  /** A name for logs and the dashboard (never the token). */
  readonly name?: string
}

/** A principal as the gateway holds it: the digest, never the token. */
export interface Caller {
  readonly name: string
  readonly operator: boolean
  /** The token's tenant; for an operator, the default tenant of its requests. */
  readonly tenant: string
  readonly credentials: Credentials | undefined
  /** Key of the NATS connection this caller acts through (callers with the same principal share one). */
  readonly connectionKey: string
  readonly digest: Buffer
}

export function sha256(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest()
}

export interface TokenTable {
  /** The caller of an `Authorization` header value, or undefined (no header, not Bearer, unknown token). */
  authenticate(header: string | undefined): Caller | undefined
  readonly callers: ReadonlyArray<Caller>
}

export function tokenTable(principals: ReadonlyArray<GatewayPrincipal>): TokenTable {
  if (principals.length === 0) throw new GatewayConfigError("the gateway needs at least one token: there is no anonymous access")
  const callers = principals.map((p, i): Caller => {
    const where = p.name ?? `token #${i + 1}`
    let digest: Buffer
    if (p.token !== undefined) {
      if (p.token.length < 16) throw new GatewayConfigError(`${where}: a token must be at least 16 characters (use e.g. \`openssl rand -hex 32\`)`)
      digest = sha256(p.token)
    } else if (p.tokenSha256 !== undefined && /^[0-9a-f]{64}$/i.test(p.tokenSha256)) {
      digest = Buffer.from(p.tokenSha256, "hex")
    } else {
      throw new GatewayConfigError(`${where}: give "token" or "tokenSha256" (64 hex digits)`)
    }
    if (!p.operator && (p.tenant === undefined || !isToken(p.tenant))) {
      throw new GatewayConfigError(`${where}: a tenant token names its "tenant" (letters, digits, _ and -), or is an "operator" token`)
    }
    const tenant = p.tenant ?? "default"
    const credentials = p.credentials
    const connectionKey = JSON.stringify([p.operator ? "operator" : `tenant:${tenant}`, credentials ?? null])
    return { name: p.name ?? (p.operator ? `operator #${i + 1}` : `${tenant} #${i + 1}`), operator: p.operator === true, tenant, credentials, connectionKey, digest }
  })
  const seen = new Set<string>()
  for (const c of callers) {
    const hex = c.digest.toString("hex")
    if (seen.has(hex)) throw new GatewayConfigError(`${c.name}: the same token is given twice`)
    seen.add(hex)
  }
  return {
    callers,
    authenticate(header) {
      if (header === undefined) return undefined
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
      if (!m) return undefined
      const d = sha256(m[1]!)
      let found: Caller | undefined
      // every digest is compared, so the time taken does not tell which token came close
      for (const c of callers) if (timingSafeEqual(c.digest, d)) found = c
      return found
    },
  }
}

/**
 * Reads a tokens file: `{"tokens":[{"token"|"tokenSha256", "tenant"|"operator", "nkey"?, "creds"?, "name"?}]}`.
 * With `authDir` (the folder `ants auth init` wrote), a tenant entry without credentials acts
 * with `<authDir>/tenants/<tenant>.nk` and an operator entry with `<authDir>/operator.nk`.
 * Relative paths are read from the file's folder.
 */
export function readTokensFile(file: string, authDir?: string): GatewayPrincipal[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"))
  } catch (e) {
    throw new GatewayConfigError(`cannot read tokens file ${file}: ${(e as Error).message}`)
  }
  const entries = (parsed as { tokens?: unknown })?.tokens
  if (!Array.isArray(entries)) throw new GatewayConfigError(`${file}: expected {"tokens":[...]}`)
  const base = dirname(resolve(file))
  const path = (p: unknown, what: string): string | undefined => {
    if (p === undefined) return undefined
    if (typeof p !== "string" || p === "") throw new GatewayConfigError(`${file}: "${what}" must be a file path`)
    return isAbsolute(p) ? p : resolve(base, p)
  }
  return entries.map((e: Record<string, unknown>, i): GatewayPrincipal => {
    if (typeof e !== "object" || e === null) throw new GatewayConfigError(`${file}: entry ${i + 1} is not an object`)
    const operator = e.operator === true
    const tenant = typeof e.tenant === "string" ? e.tenant : undefined
    let nkey = path(e.nkey, "nkey")
    const creds = path(e.creds, "creds")
    if (nkey === undefined && creds === undefined && authDir !== undefined) {
      nkey = operator ? resolve(authDir, "operator.nk") : tenant !== undefined && isToken(tenant) ? tenantSeedFile(authDir, tenant) : undefined
    }
    const credentials: Credentials | undefined = nkey || creds ? { ...(nkey ? { nkey } : {}), ...(creds ? { creds } : {}) } : undefined
    return {
      ...(typeof e.token === "string" ? { token: e.token } : {}),
      ...(typeof e.tokenSha256 === "string" ? { tokenSha256: e.tokenSha256 } : {}),
      ...(tenant !== undefined ? { tenant } : {}),
      ...(operator ? { operator } : {}),
      ...(credentials ? { credentials } : {}),
      ...(typeof e.name === "string" ? { name: e.name } : {}),
    }
  })
}
