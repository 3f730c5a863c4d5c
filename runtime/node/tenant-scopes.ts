/**
 * Isolation the server enforces inside a node: what an actor does (ask, tell, durable tell,
 * publish, subscribe, pheromones, workspace) goes through a connection of its own tenant,
 * authenticated as that tenant's principal (`ants auth init`: tenants/<t>.nk) with its inbox
 * prefix. A handler that reaches past the API for another tenant then meets the server's
 * permission error, not only the context's `forbidden`. The node's own connection (full
 * permissions: state, leases, replies) is never handed to actor code.
 *
 * Connections are opened lazily, when the first actor of a tenant activates, and shared by all
 * of that tenant's actors on the node. Without an auth folder (a plain development server) every
 * tenant uses the node's connection, as before. A node may be pinned to some tenants: it then
 * refuses to open a scope for any other (its actors are answered `forbidden`).
 */
import { TaggedError } from "../../subjects/errors.ts"
import type { NatsConnection } from "@nats-io/nats-core"
import type { Messaging } from "../agent/actor-context.ts"
import { createMessaging } from "../client/messaging.ts"
import { connectNats } from "../client/connect-nats.ts"
import { createStigmergy, type Stigmergy, type StigmergyOptions } from "../actor/artifact-delivery.ts"
import type { TenantScope, TenantScopes } from "../actor/tenant-scope.ts"
import { tenantInboxPrefix } from "../../subjects/permissions.ts"
import { tenantSeedFile } from "../security/auth-init.ts"
import { pheromoneStore, workspaceStore } from "../stigmergy/mod.ts"
import type { Credentials } from "../security/connection-options.ts"

export type { TenantScope, TenantScopes }

export class TenantScopeError extends TaggedError("TenantScopeError") {}

export interface TenantScopesOptions {
  /** The node's connection and stigmergy (used for every tenant when `authDir` is absent). */
  readonly nc: NatsConnection
  readonly messaging: Messaging
  readonly stigmergy: () => Stigmergy
  /** Folder written by `ants auth init` (tenants/<t>.nk); absent: no per-tenant connections. */
  readonly authDir?: string
  /** Tenants this node serves; absent: every tenant (with an auth folder: every tenant that has a key). */
  readonly tenants?: ReadonlyArray<string>
  /** Server URLs for tenant connections, and the node's TLS files (tenant connections use the same). */
  readonly servers: string
  readonly tls?: Pick<Credentials, "tlsCa" | "tlsCert" | "tlsKey">
  readonly replicas?: number
  /** The audit hook of pheromone writes (StigmergyOptions). */
  readonly onPheromoneWrite?: StigmergyOptions["onPheromoneWrite"]
  /** The election of each tenant's pheromone sweeper (StigmergyOptions), on the node's own connection. */
  readonly sweeperElection?: StigmergyOptions["sweeperElection"]
  readonly nodeId: string
  readonly log: (level: "info" | "warn" | "error", message: string) => void
}

export function createTenantScopes(o: TenantScopesOptions): TenantScopes {
  const shared: TenantScope = { tenant: "*", nc: o.nc, messaging: o.messaging, stigmergy: o.stigmergy }
  const pinned = o.tenants && o.tenants.length > 0 ? new Set(o.tenants) : undefined
  const scopes = new Map<string, TenantScope>()
  const opening = new Map<string, Promise<TenantScope>>()
  const closers = new Map<string, () => Promise<void>>()
  let closed = false

  const refusal = (tenant: string): string | undefined => {
    if (pinned && !pinned.has(tenant)) return `node ${o.nodeId} serves tenants ${[...pinned].join(", ")} only, not "${tenant}"`
    return undefined
  }

  const connectTenant = async (tenant: string): Promise<TenantScope> => {
    const nkey = tenantSeedFile(o.authDir!, tenant)
    let nc: NatsConnection
    try {
      nc = await connectNats(o.servers, `ants-${o.nodeId}-${tenant}`, { nkey, ...o.tls }, { inboxPrefix: tenantInboxPrefix(tenant) })
    } catch (e) {
      throw new TenantScopeError(`node ${o.nodeId} cannot connect as tenant "${tenant}" (${nkey}): ${(e as Error).message}`, { cause: e })
    }
    // A tenant's principal may not create streams: the node makes sure the pheromone and
    // workspace buckets exist (opened once per node) before the tenant's connection uses them.
    await Promise.all([pheromoneStore(o.nc, { replicas: o.replicas }), workspaceStore(o.nc, { replicas: o.replicas })]).catch((e) =>
      o.log("warn", `node ${o.nodeId}: the pheromone and workspace buckets are not open (${(e as Error).message}); tenant "${tenant}" cannot use them until a node creates them`),
    )
    if (closed) {
      await nc.close()
      throw new TenantScopeError(`node ${o.nodeId} is closing`)
    }
    const messaging = createMessaging(nc, { tenant })
    let stigmergy: Stigmergy | undefined
    o.log("info", `node ${o.nodeId} opened the connection of tenant "${tenant}"`)
    closers.set(tenant, async () => {
      await stigmergy?.close().catch(() => undefined)
      await nc.drain().catch(() => undefined)
    })
    return { tenant, nc, messaging, stigmergy: () => (stigmergy ??= createStigmergy(nc, { replicas: o.replicas, log: o.log, onPheromoneWrite: o.onPheromoneWrite, sweeperElection: o.sweeperElection })) }
  }

  return {
    isolated: o.authDir !== undefined,
    refusal,
    get(tenant) {
      if (o.authDir === undefined) return refusal(tenant) === undefined ? shared : undefined
      return scopes.get(tenant)
    },
    async open(tenant) {
      const why = refusal(tenant)
      if (why) throw new TenantScopeError(why)
      if (o.authDir === undefined) return shared
      const have = scopes.get(tenant)
      if (have) return have
      let p = opening.get(tenant)
      if (!p) {
        p = connectTenant(tenant).then(
          (s) => {
            scopes.set(tenant, s)
            opening.delete(tenant)
            return s
          },
          (e) => {
            opening.delete(tenant)
            throw e
          },
        )
        opening.set(tenant, p)
      }
      return await p
    },
    openTenants: () => [...scopes.keys()],
    async close() {
      closed = true
      const all = [...closers.values()]
      scopes.clear()
      closers.clear()
      await Promise.all(all.map((close) => close()))
    },
  }
}
