/**
 * A pool's declaration as plain data, every default written down: the agent definition's
 * `warmPool` (a number is a fixed pool; `{min, max}` an elastic one) with the tenant's
 * overrides (`ElasticOptions.pools[tenant][type]`) on top.
 */
import { TaggedError } from "../../subjects/errors.ts"
import { isToken } from "../../subjects/grammar.ts"
import type { AgentDefinition, WarmPoolSpec } from "../agent/define-agent.ts"

export const POOL_DEFAULTS = {
  /** A member above the minimum that served nothing this long leaves the pool. */
  scaleDownAfterMs: 30_000,
  /** At most one growth on load signals (pheromones) per this long; growth on demand is not limited. */
  cooldownMs: 1_000,
  /** Load (0..1) at which the pool grows: the seed's critical mark. */
  scaleUpAt: 0.9,
  /** How long the pool waits for a member's reply before answering `timeout`. */
  relayTimeoutMs: 60_000,
} as const

/** A pool as declared (`warmPool` on the definition) or configured for a tenant. */
export type PoolSpecInput = WarmPoolSpec

export interface PoolSpec {
  readonly type: string
  readonly min: number
  readonly max: number
  readonly prefix: string
  readonly scaleDownAfterMs: number
  readonly cooldownMs: number
  readonly scaleUpAt: number
  readonly relayTimeoutMs: number
}

export class PoolSpecError extends TaggedError("PoolSpecError") {}

const count = (what: string, v: unknown, type: string): number => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new PoolSpecError(`pool of "${type}": ${what} must be a whole number ≥ 0, got ${JSON.stringify(v)}`)
  return v
}

/** The pool of a type in a tenant, or undefined when the type declares none and the tenant configures none. */
export function poolSpecOf(def: Pick<AgentDefinition, "type" | "warmPool">, override?: PoolSpecInput): PoolSpec | undefined {
  const declared: PoolSpecInput | undefined = typeof def.warmPool === "number" ? { size: def.warmPool } : def.warmPool
  if (declared === undefined && override === undefined) return undefined
  const p: PoolSpecInput = { ...declared, ...override }
  const type = def.type
  const min = count("min", p.min ?? p.size ?? 0, type)
  const max = count("max", p.max ?? (p.min === undefined && p.size !== undefined ? p.size : min), type)
  if (max < min) throw new PoolSpecError(`pool of "${type}": max ${max} is below min ${min}`)
  if (max === 0) throw new PoolSpecError(`pool of "${type}": max is 0, so the pool could never serve; give max ≥ 1`)
  const prefix = p.prefix ?? `${type}-`
  if (!isToken(`${prefix}0`)) throw new PoolSpecError(`pool of "${type}": prefix ${JSON.stringify(prefix)} does not make ids of [A-Za-z0-9_-]`)
  if (prefix.startsWith("_")) throw new PoolSpecError(`pool of "${type}": prefix ${JSON.stringify(prefix)} begins with "_", which the runtime reserves`)
  const scaleUpAt = p.scaleUpAt ?? POOL_DEFAULTS.scaleUpAt
  if (!(scaleUpAt > 0 && scaleUpAt <= 1)) throw new PoolSpecError(`pool of "${type}": scaleUpAt must be in (0, 1], got ${scaleUpAt}`)
  return {
    type,
    min,
    max,
    prefix,
    scaleDownAfterMs: count("scaleDownAfterMs", p.scaleDownAfterMs ?? POOL_DEFAULTS.scaleDownAfterMs, type),
    cooldownMs: count("cooldownMs", p.cooldownMs ?? POOL_DEFAULTS.cooldownMs, type),
    scaleUpAt,
    relayTimeoutMs: Math.max(1, count("relayTimeoutMs", p.relayTimeoutMs ?? POOL_DEFAULTS.relayTimeoutMs, type)),
  }
}
