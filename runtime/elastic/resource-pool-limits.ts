/**
 * Resource pools declared on a node (`elastic.resourcePools`): each names a limit and the agent
 * types that share it; every handler turn of those types holds one slot of the pool (per
 * tenant: each tenant has the whole limit to itself) for as long as the handler runs, so at
 * most `limit` turns of all the pool's types run at once across every node of the swarm. A type
 * in several pools takes their slots in the order of the pools' names (no two turns can wait on
 * each other's slots in a cycle). Waiting for a slot counts into the handler's deadline; a turn
 * that cannot get one within `waitMs` fails with ResourcePoolBusyError (its caller sees
 * `handler_failed`). Offloaded types (worker threads) cannot be limited and are refused.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { isToken } from "../../subjects/grammar.ts"
import type { AgentDefinition } from "../agent/define-agent.ts"
import type { ActorContext } from "../agent/actor-context.ts"
import { openResourcePools, type ResourcePools } from "./resource-pool.ts"
import { PoolSpecError } from "./pool-spec.ts"

export interface ResourcePoolDecl {
  /** A token: `[A-Za-z0-9_-]+`. */
  readonly name: string
  /** Turns at once, per tenant, across the swarm. */
  readonly limit: number
  /** The agent types that share the limit. */
  readonly types: ReadonlyArray<string>
  /** Only these tenants are limited (default: every tenant, each with its own `limit`). */
  readonly tenants?: ReadonlyArray<string>
  /** How long a turn waits for a slot (default 60 s). */
  readonly waitMs?: number
}

export interface ResourceLimits {
  /** The definition with its handlers holding their pools' slots (the same object when it is in none). */
  wrap<D extends AgentDefinition<any, any>>(def: D): D
  readonly pools: ResourcePools | undefined
}

function check(decls: ReadonlyArray<ResourcePoolDecl>): void {
  const names = new Set<string>()
  for (const d of decls) {
    if (!isToken(d.name)) throw new PoolSpecError(`resource pool name ${JSON.stringify(d.name)} is not a token ([A-Za-z0-9_-]+)`)
    if (names.has(d.name)) throw new PoolSpecError(`resource pool "${d.name}" is declared twice`)
    names.add(d.name)
    if (!Number.isInteger(d.limit) || d.limit < 1) throw new PoolSpecError(`resource pool "${d.name}": limit must be a whole number ≥ 1, got ${JSON.stringify(d.limit)}`)
    if (!Array.isArray(d.types) || d.types.length === 0) throw new PoolSpecError(`resource pool "${d.name}" names no agent types; list the types that share it`)
  }
}

export function resourceLimits(
  nc: NatsConnection,
  o: { nodeId: string; replicas: number; leaseTtlMs?: number; log: (level: "info" | "warn" | "error", message: string) => void },
  decls: ReadonlyArray<ResourcePoolDecl> | undefined,
): ResourceLimits {
  if (!decls || decls.length === 0) return { wrap: (def) => def, pools: undefined }
  check(decls)
  const pools = openResourcePools(nc, { nodeId: o.nodeId, replicas: o.replicas, leaseTtlMs: o.leaseTtlMs, log: o.log })
  return {
    pools,
    wrap<D extends AgentDefinition<any, any>>(def: D): D {
      const mine = decls.filter((d) => d.types.includes(def.type)).sort((a, b) => a.name.localeCompare(b.name))
      if (mine.length === 0) return def
      if (def.offload) throw new PoolSpecError(`agent type "${def.type}" runs its handlers in worker threads (offload) and cannot share resource pool "${mine[0].name}"`)
      const hold = async <T>(tenant: string, holder: string, i: number, f: () => Promise<T>): Promise<T> => {
        if (i >= mine.length) return await f()
        const d = mine[i]
        if (d.tenants && !d.tenants.includes(tenant)) return await hold(tenant, holder, i + 1, f)
        return await pools.use(tenant, d.name, d.limit, () => hold(tenant, holder, i + 1, f), { holder, waitMs: d.waitMs })
      }
      const handlers: Record<string, (m: unknown, ctx: ActorContext<any>) => unknown> = {}
      for (const [tag, h] of Object.entries(def.handlers as Record<string, (m: unknown, ctx: ActorContext<any>) => unknown>)) {
        handlers[tag] = (m, ctx) => hold(ctx.self.tenant, `${ctx.self.type}/${ctx.self.id}`, 0, async () => await h(m, ctx))
      }
      return { ...def, handlers } as D
    },
  }
}
