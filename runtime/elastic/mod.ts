/**
 * Layer `elastic`: what makes a swarm grow and shrink with its work. Pools of warm members per
 * type and tenant, addressed as one (`ants.<tenant>.agent.<type>._pool.<Tag>`), that grow under
 * load up to a maximum and shrink when idle; load pheromones deposited from real load on an
 * interval and the recruitment of idle capable agents where load is critical (the seed's fourth
 * swarm rule); resource pools (concurrency limits shared by several agent types, across nodes,
 * with slots leased in KV). Wakes, schedules, versions and lasting costs live here too.
 *
 * Promises: a pool never has fewer than `min` nor more than `max` members; a message sent to a
 * pool goes to an idle member when there is one and its reply (or a clear error) reaches the
 * caller; every scaling step is logged and handed to the `record` port (receipts); a resource
 * pool never has more than `limit` slots held at once on a server that serializes KV
 * compare-and-set, and a slot held by a node that died is freed by its lease's expiry. A wake by
 * type wakes one instance (asleep, stored, or new) and answers its id; lifecycle costs are stored
 * per tenant, type and node, so totals survive restarts and nodes adding at once lose nothing.
 * May import: actor, agent, client, cluster, server, security, stigmergy, tasks, models, limits.
 */
// ── pools, recruitment, resource pools ──
export { POOL_DEFAULTS, PoolSpecError, poolSpecOf } from "./pool-spec.ts"
export type { PoolSpec, PoolSpecInput } from "./pool-spec.ts"
export { openPoolState } from "./pool-state.ts"
export type { PoolRecord, PoolState } from "./pool-state.ts"
export { createPoolRouter } from "./pool-router.ts"
export type { ElasticRecord, PoolRouter, PoolRouterDeps, PoolStatus, ScaleEvent } from "./pool-router.ts"
export { createPoolKeeper } from "./pool-keeper.ts"
export { ELASTIC_DEFAULTS, prepareElasticNode, startElasticNode } from "./pool-node.ts"
export type { ElasticDeps, ElasticNode, ElasticOptions, PreparedElastic } from "./pool-node.ts"
export { LOAD_DEFAULTS, startLoadReporter, typeLoads } from "./load-reporter.ts"
export type { LoadReporter, LoadReporterOptions, LoadSample } from "./load-reporter.ts"
export { RESOURCE_POOL_DEFAULTS, ResourcePoolBusyError, openResourcePools } from "./resource-pool.ts"
export type { AcquireOptions, ResourcePools, ResourcePoolsOptions, ResourceSlot } from "./resource-pool.ts"
export { resourceLimits } from "./resource-pool-limits.ts"
export type { ResourceLimits, ResourcePoolDecl } from "./resource-pool-limits.ts"
export { capabilityBacklogs, capabilityLoads } from "./load-capabilities.ts"
export { RECRUIT_DEFAULTS, capabilityLoadsFrom, decideRecruitment, startRecruiter } from "./recruit.ts"
export type { Recruit, Recruiter, RecruiterOptions, RecruitPolicy } from "./recruit.ts"
// ── wakes, schedules, versions, costs ──
export { serveWakesByType, type WakeableType, type WakeServiceDeps } from "./wake-service.ts"
export { COST_FLUSH, addLifecycleCost, flushLifecycleCosts, readLifecycleCosts, startCostMeter, type CostMeter, type LifecycleCost, type LifecycleCostReport } from "./cost-meter.ts"
