/**
 * A node's elastic part, wired by startNode: the pool state (KV), the routers of the pools whose
 * `_pool` id this node owns, the keeper of the members it owns, the load reporter that deposits
 * the node's load pheromones, and the cache of load signals the routers read. One timer drives
 * routers and keeper (`tickMs`); the reporter has its own interval (`loadIntervalMs`).
 */
import type { Msg, NatsConnection } from "@nats-io/nats-core"
import type { ErrorCode } from "../../subjects/envelope.ts"
import { DEFAULT_TENANT, SubjectError } from "../../subjects/grammar.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { parsePoolSpreadSubject, POOL_ID, poolKey, poolSpreadPatternAllTenants, poolSpreadQueue, typeLoadLocation } from "../../subjects/elastic.ts"
import { encodeError } from "../../subjects/envelope.ts"
import { actorKey, toInbound, type Inbound } from "../../subjects/inbound.ts"
import type { TypeHost } from "../actor/type-host.ts"
import type { Pheromones } from "../stigmergy/pheromones.ts"
import { poolSpecOf, type PoolSpec, type PoolSpecInput } from "./pool-spec.ts"
import { openPoolState } from "./pool-state.ts"
import { createPoolRouter, type ElasticRecord, type PoolStatus } from "./pool-router.ts"
import { createPoolKeeper } from "./pool-keeper.ts"
import { startLoadReporter, typeLoads, type LoadReporter } from "./load-reporter.ts"
import { resourceLimits, type ResourcePoolDecl } from "./resource-pool-limits.ts"
import type { AgentDefinition } from "../agent/define-agent.ts"
import type { ResourcePools } from "./resource-pool.ts"

export const ELASTIC_DEFAULTS = {
  /** How often routers apply the scaling rules and the keeper checks the members it owns. */
  tickMs: 250,
} as const

export interface ElasticOptions {
  /**
   * Pools per tenant and type, on top of the type's own `warmPool` (a tenant may get a pool for a
   * type that declares none, or other limits): `{acme: {assistant: {min: 1, max: 8}}}`.
   * Tenant `default` gets the declared pools from the start; another tenant gets a type's
   * declared pool when it is configured here or when work is first sent to its pool address.
   */
  readonly pools?: Readonly<Record<string, Readonly<Record<string, PoolSpecInput>>>>
  /** How often the node deposits its load pheromones (default 1000 ms; `false`: never). */
  readonly loadIntervalMs?: number | false
  readonly tickMs?: number
  /** Receipts of scaling: called once per growth (after the new member answered) and per shrink. Default: the node's audit. */
  readonly record?: ElasticRecord
  /** Concurrency limits shared by several types, across nodes (resource-pool-limits.ts). */
  readonly resourcePools?: ReadonlyArray<ResourcePoolDecl>
  /** Lease of a held resource slot, refreshed every third of it (default 30 s). */
  readonly resourceLeaseTtlMs?: number
}

export interface ElasticDeps {
  readonly nodeId: string
  readonly nc: NatsConnection
  readonly replicas: number
  readonly hosts: ReadonlyMap<string, TypeHost>
  pheromones(tenant: string): Pheromones
  ownerOf(type: string, id: string): string | undefined
  /** Partitions this node serves, or undefined when routing is direct (one node serves all). */
  partitions(): ReadonlyArray<number> | undefined
  accepting(): boolean
  /** The node's resource pools (closed with the rest). */
  readonly resources?: ResourcePools
  /** The node's audit (its record port): where scaling receipts go unless `ElasticOptions.record` says otherwise. */
  readonly record?: ElasticRecord
  readonly log: (level: "info" | "warn" | "error", message: string) => void
  /** The node's dispatch path (checks, quotas, then the pool router) for a message taken on the spread pool address. */
  dispatch(msg: Msg, routed: Inbound): void
}

export interface ElasticNode {
  /** Routes a message sent to a pool address; a refusal to answer, or undefined when taken. */
  route(msg: Msg, p: { tenant: string; type: string; tag: string }): { code: ErrorCode; message: string } | undefined
  /** The pools this node routes now. */
  pools(): PoolStatus[]
  readonly load: LoadReporter | undefined
  stop(): Promise<void>
}

export async function startElasticNode(d: ElasticDeps, o: ElasticOptions = {}): Promise<ElasticNode> {
  const specs = new Map<string, PoolSpec | undefined>()
  const specOf = (tenant: string, type: string): PoolSpec | undefined => {
    const key = poolKey(tenant, type)
    if (!specs.has(key)) {
      const host = d.hosts.get(type)
      const override = o.pools?.[tenant]?.[type]
      specs.set(key, host ? poolSpecOf(host.definition, override) : undefined)
    }
    return specs.get(key)
  }
  // a bad declaration fails the start, not the first message
  for (const [tenant, types] of Object.entries(o.pools ?? {})) for (const type of Object.keys(types)) if (d.hosts.has(type)) specOf(tenant, type)
  for (const type of d.hosts.keys()) specOf(DEFAULT_TENANT, type)

  const state = await openPoolState(d.nc, { replicas: d.replicas, log: d.log })
  let parts: Set<number> | undefined
  const owns = (type: string, id: string) => d.ownerOf(type, id) === d.nodeId && (parts === undefined || parts.has(partitionOf(type, id)))

  // the strongest live load of each (tenant, type) routed here, refreshed every tick in the background
  const signals = new Map<string, number>()
  let reading = false
  const readSignals = async (keys: Array<{ tenant: string; type: string }>) => {
    if (reading) return
    reading = true
    try {
      await Promise.all(
        keys.map(async ({ tenant, type }) => {
          const trails = await d.pheromones(tenant).detect({ types: ["load"], location: typeLoadLocation(type), exact: true })
          signals.set(poolKey(tenant, type), Math.max(0, ...trails.map((t) => t.current)))
        }),
      )
    } catch (e) {
      d.log("warn", `reading load signals failed: ${(e as Error).message}`)
    } finally {
      reading = false
    }
  }

  const busyHere = (tenant: string, type: string, id: string) => {
    const cell = d.hosts.get(type)?.cells.get(actorKey(tenant, id))
    return cell !== undefined && (cell.busy || cell.queued > 0)
  }
  const router = createPoolRouter({ nodeId: d.nodeId, nc: d.nc, state, specOf, busyHere, ownerOf: d.ownerOf, signalLoad: (t, type) => signals.get(poolKey(t, type)) ?? 0, record: o.record ?? d.record, log: d.log })
  state.onChange((r) => router.adopt(r))
  const keeper = createPoolKeeper({ hosts: d.hosts, state, specOf, owns, log: d.log })
  const routes = (_tenant: string, type: string) => owns(type, POOL_ID)

  const ensureDeclared = async () => {
    const wanted: Array<[string, string]> = []
    for (const type of d.hosts.keys()) if (specOf(DEFAULT_TENANT, type)) wanted.push([DEFAULT_TENANT, type])
    for (const [tenant, types] of Object.entries(o.pools ?? {})) for (const type of Object.keys(types)) if (specOf(tenant, type)) wanted.push([tenant, type])
    for (const [tenant, type] of wanted) {
      const spec = specOf(tenant, type)!
      const rec = state.get(tenant, type)
      if (rec && rec.min === spec.min && rec.max === spec.max) continue
      if (!routes(tenant, type)) continue
      await state.ensure(tenant, type, spec.min, spec.max, d.nodeId).catch((e) => d.log("warn", `pool ${tenant}/${type} could not be created: ${(e as Error).message}`))
    }
  }

  const load =
    o.loadIntervalMs === false
      ? undefined
      : startLoadReporter({ nodeId: d.nodeId, pheromones: d.pheromones, sample: () => typeLoads(d.hosts), intervalMs: o.loadIntervalMs, log: d.log })

  // the spread pool address: one queue group of every node hosting the type, each message taken through the node's dispatch path
  const spread = [...d.hosts.keys()].map((type) =>
    d.nc.subscribe(poolSpreadPatternAllTenants(type), {
      queue: poolSpreadQueue(type),
      callback: (_e, m) => {
        const p = parsePoolSpreadSubject(m.subject)
        if (p instanceof SubjectError) {
          if (m.reply) m.respond(encodeError("invalid_subject", p.message))
          return
        }
        d.dispatch(m, toInbound({ ...p, id: POOL_ID, partition: -1 }))
      },
    }),
  )

  let ensuring = false
  const timer = setInterval(() => {
    const now = Date.now()
    const p = d.partitions()
    parts = p === undefined ? undefined : new Set(p)
    if (!ensuring) {
      ensuring = true
      void ensureDeclared().finally(() => (ensuring = false))
    }
    const routed = [...state.pools.values()].filter((r) => routes(r.tenant, r.type))
    void readSignals(routed)
    if (d.accepting()) router.tick(now, routes)
    keeper.tick(now, d.accepting())
  }, Math.max(20, o.tickMs ?? ELASTIC_DEFAULTS.tickMs))
  timer.unref()

  return {
    route: (msg, p) => {
      const r = router.route(msg, p)
      // a tenant's first use of a declared pool creates its record (so its members are kept warm)
      if (r === undefined && !state.get(p.tenant, p.type)) {
        const spec = specOf(p.tenant, p.type)
        if (spec) void state.ensure(p.tenant, p.type, spec.min, spec.max, d.nodeId).catch(() => undefined)
      }
      return r
    },
    pools: () => [...state.pools.values()].flatMap((r) => router.status(r.tenant, r.type) ?? []),
    load,
    async stop() {
      clearInterval(timer)
      for (const sub of spread) sub.unsubscribe()
      load?.stop()
      keeper.stop()
      await state.close()
      await d.resources?.close()
    },
  }
}

/** What startNode holds from before its hosts exist: the handlers' resource pools, then the rest. */
export interface PreparedElastic {
  /** The definition with its resource pools held around its handlers. */
  wrap<D extends AgentDefinition<any, any>>(def: D): D
  /** Routes a pool address (refused `unavailable` before start, or with `elastic: false`). */
  route: ElasticNode["route"]
  /** Starts pools and load reports once the node's cluster and stigmergy run; stops on its own when the node stops accepting. */
  start(d: Omit<ElasticDeps, "nc" | "nodeId" | "replicas" | "log" | "resources">): Promise<void>
  stop(): Promise<void>
}

export function prepareElasticNode(nc: NatsConnection, base: Pick<ElasticDeps, "nodeId" | "replicas" | "log">, o: ElasticOptions | false | undefined): PreparedElastic {
  const options = o === false ? undefined : (o ?? {})
  const resources = resourceLimits(nc, { ...base, leaseTtlMs: options?.resourceLeaseTtlMs }, options?.resourcePools)
  let node: ElasticNode | undefined
  let watch: ReturnType<typeof setInterval> | undefined
  const stop = async () => {
    if (watch) clearInterval(watch)
    const n = node
    node = undefined
    if (n) await n.stop()
    else await resources.pools?.close()
  }
  return {
    wrap: (def) => resources.wrap(def),
    route: (msg, p) => (node ? node.route(msg, p) : { code: "unavailable", message: `node ${base.nodeId} ${options ? "has not started its pools yet; retry" : "runs without pools (elastic: false)"}` }),
    async start(d) {
      if (!options) return
      node = await startElasticNode({ ...d, ...base, nc, resources: resources.pools }, options)
      watch = setInterval(() => void (!d.accepting() && stop()), 100)
      watch.unref()
    },
    stop,
  }
}
