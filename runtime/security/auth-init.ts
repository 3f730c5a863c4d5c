/**
 * `ants auth init`: the principals of a deployment and the server configuration that knows them.
 *
 * Mechanism: users with permissions in one account, each authenticated by an nkey. One account,
 * because ANTS relies on things that live in an account: the partition mapping, the runtime's
 * JetStream KV buckets and streams (shared by every tenant, keyed by tenant), and `$KV`/`$JS.API`
 * subjects that name a tenant's keys. With an account per tenant each of those would need
 * exports, imports and per-account JetStream, and KV across accounts is heavy. Permissions on
 * subjects give the same isolation for what ANTS does (subjects/permissions.ts lists them, the
 * tests try every refusal against a real server). Nkeys, because the server then holds only
 * public keys: a leaked server configuration lets no one in, and the secret (the seed) never
 * crosses the wire (the server sends a nonce, the client signs it).
 *
 * What it writes (folder 0700, secrets 0600):
 *   auth.conf           the `authorization` block: one nkey user per principal with its permissions
 *   nats.conf           a complete server configuration (loopback, JetStream, the partition mapping,
 *                       `include auth.conf`) for a single server started from this folder
 *   routes.conf         cluster route credentials: the `authorization` other servers must present
 *                       and the three routes with them (nats-cluster/cluster.conf includes it)
 *   node.nk             seed of the runtime nodes' principal
 *   operator.nk         seed of the command line's principal
 *   tenants/<t>.nk      seed of each tenant's principal (clients of that tenant, and nodes serving it)
 *   principals.json     who is who: name, kind, tenant, public key, seed file (no secrets)
 */
import { TaggedError } from "../../subjects/errors.ts"
import { randomBytes } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { createUser } from "@nats-io/nkeys"
import { token } from "../../subjects/grammar.ts"
import { nodePermissions, operatorPermissions, PARTITION_MAPPING, tenantPermissions, type Permissions } from "../../subjects/permissions.ts"

export class AuthInitError extends TaggedError("AuthInitError") {}

export interface Principal {
  readonly name: string
  readonly kind: "node" | "operator" | "tenant"
  readonly tenant?: string
  readonly publicKey: string
  /** Seed file, relative to the output folder. */
  readonly seedFile: string
}

export interface AuthInitOptions {
  readonly out: string
  readonly tenants: ReadonlyArray<string>
  /** Route hosts (host:port) for routes.conf. Default ants-a:6222, ants-b:6222, ants-c:6222. */
  readonly routes?: ReadonlyArray<string>
  /** Replace files already there (default: refuse, so a deployment's keys are not lost by mistake). */
  readonly force?: boolean
}

export interface AuthInitResult {
  readonly out: string
  readonly principals: ReadonlyArray<Principal>
  readonly files: ReadonlyArray<string>
}

export const DEFAULT_ROUTES: ReadonlyArray<string> = ["ants-a:6222", "ants-b:6222", "ants-c:6222"]
/** The user cluster routes authenticate as (routes.conf). */
export const ROUTE_USER = "ants-route"

/** JetStream limits of a generated server (the same as the shipped nats.conf). */
const JETSTREAM = { max_memory_store: "256MB", max_file_store: "8GB" }

const q = (s: string) => JSON.stringify(s)
const list = (xs: ReadonlyArray<string>) => `[${xs.map(q).join(", ")}]`

function renderPermissions(p: Permissions): string {
  const side = (s: { allow: ReadonlyArray<string>; deny?: ReadonlyArray<string> }) =>
    `{ allow: ${list(s.allow)}${s.deny && s.deny.length > 0 ? `, deny: ${list(s.deny)}` : ""} }`
  return `{\n        publish: ${side(p.publish)}\n        subscribe: ${side(p.subscribe)}${p.allowResponses ? "\n        allow_responses: true" : ""}\n      }`
}

/** The `authorization` block for the given principals (public keys only). */
export function renderAuthConf(principals: ReadonlyArray<Principal>): string {
  const users = principals.map((p) => {
    const perms = p.kind === "tenant" ? tenantPermissions(p.tenant!) : p.kind === "node" ? nodePermissions() : operatorPermissions()
    return `    # ${p.name} (${p.kind}${p.tenant ? ` ${p.tenant}` : ""}): seed in ${p.seedFile}\n    { nkey: ${q(p.publicKey)}, permissions: ${renderPermissions(perms)} }`
  })
  return [
    "# ANTS principals, written by `ants auth init`. Public keys only: the seeds stay with their owners.",
    "# Every connection must authenticate; there is no anonymous user. Regenerate with",
    "#   npx ants auth init --tenants <t1,t2,...> --out <this folder> --force",
    "authorization {",
    "  users = [",
    users.join("\n"),
    "  ]",
    "}",
    "",
  ].join("\n")
}

/** A complete single-server configuration that includes auth.conf from the same folder. */
export function renderServerConf(): string {
  return [
    "# ANTS server configuration, written by `ants auth init`: nats-server -c nats.conf -sd <store>",
    "# Clients on this machine only (loopback); to serve other machines, change listen and add TLS",
    "# (see nats-tls.conf in the ANTS repository).",
    'listen: "127.0.0.1:4222"',
    "jetstream {",
    `  max_memory_store: ${JETSTREAM.max_memory_store}`,
    `  max_file_store: ${JETSTREAM.max_file_store}`,
    "}",
    "# The partition mapping of actor subjects (the partition count is part of the wire contract).",
    "mappings = {",
    `  ${q(PARTITION_MAPPING.from)}: ${q(PARTITION_MAPPING.to)}`,
    "}",
    "include auth.conf",
    "",
  ].join("\n")
}

/** Route authentication and the routes (host:port each), for inclusion inside a `cluster` block. */
export function renderRoutesConf(password: string, routes: ReadonlyArray<string>): string {
  return [
    "# Cluster route credentials, written by `ants auth init`; included inside the cluster block of",
    "# nats-cluster/cluster.conf. A server accepts a route only with this user and password.",
    "authorization {",
    `  user: ${q(ROUTE_USER)}`,
    `  password: ${q(password)}`,
    "}",
    "routes: [",
    ...routes.map((r) => `  ${q(`nats-route://${ROUTE_USER}:${encodeURIComponent(password)}@${r}`)}`),
    "]",
    "",
  ].join("\n")
}

function seedFileText(p: { name: string; kind: string; tenant?: string; publicKey: string }, seed: string): string {
  return `# nkey seed of ANTS principal ${p.name} (${p.kind}); public key ${p.publicKey}. Keep it secret.\n${seed}\n`
}

/** Writes the folder. Throws AuthInitError on a bad tenant name or (without `force`) existing files. */
export function authInit(o: AuthInitOptions): AuthInitResult {
  if (o.tenants.length === 0) throw new AuthInitError("name at least one tenant (--tenants acme,globex)")
  const tenants = [...new Set(o.tenants)]
  for (const t of tenants) {
    try {
      token("tenant", t)
    } catch (e) {
      throw new AuthInitError((e as Error).message)
    }
  }
  if (!o.force && existsSync(join(o.out, "auth.conf"))) {
    throw new AuthInitError(`${join(o.out, "auth.conf")} exists: its principals' seeds are in use. Pass --force to replace every key, or choose another --out`)
  }
  mkdirSync(join(o.out, "tenants"), { recursive: true, mode: 0o700 })
  chmodSync(o.out, 0o700)
  chmodSync(join(o.out, "tenants"), 0o700)
  const files: string[] = []
  const write = (rel: string, text: string, secret: boolean) => {
    const f = join(o.out, rel)
    writeFileSync(f, text, { mode: secret ? 0o600 : 0o644 })
    chmodSync(f, secret ? 0o600 : 0o644)
    files.push(f)
  }
  const principals: Principal[] = []
  const make = (name: string, kind: Principal["kind"], seedFile: string, tenant?: string) => {
    const kp = createUser()
    const p: Principal = { name, kind, ...(tenant ? { tenant } : {}), publicKey: kp.getPublicKey(), seedFile }
    write(seedFile, seedFileText(p, new TextDecoder().decode(kp.getSeed())), true)
    principals.push(p)
  }
  make("node", "node", "node.nk")
  make("operator", "operator", "operator.nk")
  for (const t of tenants) make(`tenant-${t}`, "tenant", join("tenants", `${t}.nk`), t)
  write("auth.conf", renderAuthConf(principals), false)
  write("nats.conf", renderServerConf(), false)
  write("routes.conf", renderRoutesConf(randomBytes(24).toString("base64url"), o.routes ?? DEFAULT_ROUTES), true)
  write("principals.json", JSON.stringify({ principals }, null, 2) + "\n", false)
  return { out: o.out, principals, files }
}

/** The seed file of a tenant in a folder written by `authInit`. */
export function tenantSeedFile(dir: string, tenant: string): string {
  return join(dir, "tenants", `${token("tenant", tenant)}.nk`)
}
