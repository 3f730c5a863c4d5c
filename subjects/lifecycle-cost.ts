/**
 * Lasting lifecycle costs (runtime/elastic/cost-meter.ts): KV `ants_lifecycle_cost` (history 1,
 * no expiry), key `<tenant>.<type>.<node>`: what that node's actors of that type in that tenant
 * used since the node id first ran, JSON `{"activations","restarts","activeMs","sleepingMs","at"}`.
 * Each node writes only its own keys, so nodes adding at once lose nothing; a reader sums the
 * keys of a type or tenant over nodes.
 */
import { token } from "./grammar.ts"

export const LIFECYCLE_COST_BUCKET = "ants_lifecycle_cost"

export function lifecycleCostKey(tenant: string, type: string, node: string): string {
  return `${token("tenant", tenant)}.${token("type", type)}.${token("node", node)}`
}

export function parseLifecycleCostKey(key: string): { tenant: string; type: string; node: string } | undefined {
  const t = key.split(".")
  return t.length === 3 ? { tenant: t[0]!, type: t[1]!, node: t[2]! } : undefined
}
