/**
 * The wire contract of elastic swarms (runtime/elastic): the pool address, the buckets of pool
 * sizes and resource-pool slots, and where load pheromones live.
 *
 *   ants.<tenant>.agent.<type>._pool.<Tag>   an ask or tell for any member of the type's pool in
 *                                            that tenant: the node that owns the id `_pool` (by
 *                                            the same partition mapping as any actor) hands it
 *                                            to an idle member and relays the reply.
 *                                            `_Inspect` there answers the pool's state.
 *   ants.<tenant>.pool.<type>.<Tag>          the same, spread: every node hosting the type takes
 *                                            these in one queue group (`ants-pool-<type>`), so
 *                                            no single node routes the pool and none is its
 *                                            single point of failure; the taker hands it to an
 *                                            idle member wherever it lives. `_Inspect` answers
 *                                            the taker's view.
 *
 * KV `ants_pools`, key `<tenant>.<type>`: the pool's current size (JSON, see PoolRecord in
 * runtime/elastic/pool-state.ts). KV `ants_resource_pools`, key `<tenant>.<pool>.<slot>`: one
 * held slot of a shared concurrency limit. Load pheromones: type `load` at location
 * `elastic.load.<type>` (agent types) or `elastic.capability.<capability...>` (task
 * capabilities), one trail per reporting node (id = the node id).
 */
import { agentSubject, ROOT, SubjectError, token } from "./grammar.ts"

/** Header of a pool message one router handed to another (the node whose members may be idle): that router does not hand it on again. */
export const POOL_HOP_HEADER = "Ants-Pool-Hop"

/** The id that addresses a type's pool instead of one actor. Ids beginning with `_` are never actors. */
export const POOL_ID = "_pool"
export const POOLS_BUCKET = "ants_pools"
export const RESOURCE_POOLS_BUCKET = "ants_resource_pools"
/** The location prefix of every load trail the runtime deposits. */
export const LOAD_ROOT = "elastic"

export function poolSubject(parts: { tenant: string; type: string; tag: string }): string {
  return agentSubject({ tenant: parts.tenant, type: parts.type, id: POOL_ID, tag: parts.tag })
}

/** The spread pool address: `ants.<tenant>.pool.<type>.<Tag>` (any node hosting the type routes it). */
export function poolSpreadSubject(parts: { tenant: string; type: string; tag: string }): string {
  return `${ROOT}.${token("tenant", parts.tenant)}.pool.${token("type", parts.type)}.${token("tag", parts.tag)}`
}

/** What every node hosting `type` subscribes to (in queue group `poolSpreadQueue(type)`): its spread pool address in every tenant. */
export function poolSpreadPatternAllTenants(type: string): string {
  return `${ROOT}.*.pool.${token("type", type)}.*`
}

export function poolSpreadQueue(type: string): string {
  return `ants-pool-${token("type", type)}`
}

export function parsePoolSpreadSubject(subject: string): { tenant: string; type: string; tag: string } | SubjectError {
  const t = subject.split(".")
  if (t.length !== 5 || t[0] !== ROOT || t[2] !== "pool") return new SubjectError(`not a pool subject: ${subject} (ants.<tenant>.pool.<type>.<Tag>)`, "subject", subject)
  try {
    return { tenant: token("tenant", t[1]!), type: token("type", t[3]!), tag: token("tag", t[4]!) }
  } catch (e) {
    return e instanceof SubjectError ? e : new SubjectError(String(e), "subject", subject)
  }
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
