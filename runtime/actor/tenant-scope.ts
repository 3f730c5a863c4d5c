/**
 * What a tenant's actors act through on a node (a role interface; the node implements it in
 * node/tenant-scopes.ts). With an auth folder each tenant has a connection of its own, as that
 * tenant's principal, so the server enforces tenant isolation inside the node too; without one
 * every tenant shares the node's connection.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { Messaging } from "../agent/actor-context.ts"
import type { Stigmergy } from "./artifact-delivery.ts"

/** What one tenant's actors use on this node. */
export interface TenantScope {
  readonly tenant: string
  /** The tenant's connection (the node's own when no auth folder is configured). */
  readonly nc: NatsConnection
  readonly messaging: Messaging
  stigmergy(): Stigmergy
}

export interface TenantScopes {
  /** Whether tenant connections are in use (an auth folder was given). */
  readonly isolated: boolean
  /** The reason this node does not serve `tenant`, or undefined when it does. */
  refusal(tenant: string): string | undefined
  /** The tenant's scope, opening its connection on first use. */
  open(tenant: string): Promise<TenantScope>
  /** The scope if already open (actors use it after their activation opened it). */
  get(tenant: string): TenantScope | undefined
  /** Tenants with an open connection of their own. */
  openTenants(): ReadonlyArray<string>
  close(): Promise<void>
}
