/**
 * The wire contract of elastic swarms (runtime/elastic): the pool address, the buckets of pool
 * sizes and resource-pool slots, and where load pheromones live.
 *
 *   ants.<tenant>.agent.<type>._pool.<Tag>   an ask or tell for any member of the type's pool in
 *                                            that tenant: the node that owns the id `_pool` (by
 *                                            the same partition mapping as any actor) hands it
 *                                            to an idle member and relays the reply.
 *                                            `_Inspect` there answers the pool's state.
 *
 * KV `ants_pools`, key `<tenant>.<type>`: the pool's current size (JSON, see PoolRecord in
 * runtime/elastic/pool-state.ts). KV `ants_resource_pools`, key `<tenant>.<pool>.<slot>`: one
 * held slot of a shared concurrency limit. Load pheromones: type `load` at location
 * `elastic.load.<type>` (agent types) or `elastic.capability.<capability...>` (task
 * capabilities), one trail per reporting node (id = the node id).
 */
import { agentSubject, token } from "./grammar.ts"

/** The id that addresses a type's pool instead of one actor. Ids beginning with `_` are never actors. */
export const POOL_ID = "_pool"
export const POOLS_BUCKET = "ants_pools"
export const RESOURCE_POOLS_BUCKET = "ants_resource_pools"
/** The location prefix of every load trail the runtime deposits. */
export const LOAD_ROOT = "elastic"

export function poolSubject(parts: { tenant: string; type: string; tag: string }): string {
  return agentSubject({ tenant: parts.tenant, type: parts.type, id: POOL_ID, tag: parts.tag })
}

export function isPoolId(id: string): boolean {
  return id === POOL_ID
}

export function poolKey(tenant: string, type: string): string {
  return `${token("tenant", tenant)}.${token("type", type)}`
}

export function parsePoolKey(key: string): { tenant: string; type: string } | undefined {
  const t = key.split(".")
  if (t.length !== 2) return undefined
  try {
    return { tenant: token("tenant", t[0]), type: token("type", t[1]) }
  } catch {
    return undefined
  }
}

/** A pool member's id: `<prefix><n>` (the prefix defaults to `<type>-`, as warm pools always had). */
export function poolMemberId(prefix: string, n: number): string {
  return token("id", `${prefix}${n}`)
}

export function resourceSlotKey(tenant: string, pool: string, slot: number): string {
  return `${token("tenant", tenant)}.${token("token", pool)}.${slot}`
}

export function resourcePoolFilter(tenant: string, pool: string): string {
  return `${token("tenant", tenant)}.${token("token", pool)}.>`
}

/** Where the load of an agent type is deposited. */
export function typeLoadLocation(type: string): string {
  return `${LOAD_ROOT}.load.${token("type", type)}`
}

/** Where the load of a task capability (`a.b.c`) is deposited. */
export function capabilityLoadLocation(capability: string): string {
  const parts = capability.split(".").map((p) => token("capability", p))
  return `${LOAD_ROOT}.capability.${parts.join(".")}`
}

/** The capability a capability load location names, or undefined. */
export function capabilityOfLoadLocation(location: string): string | undefined {
  const prefix = `${LOAD_ROOT}.capability.`
  return location.startsWith(prefix) ? location.slice(prefix.length) : undefined
}
