/**
 * A node's side of tenant security, in one place so that `startNode` only wires it: the tenant
 * scopes (each tenant's actors act through their own connection with an auth folder), the
 * tenant policy (suspension and quotas from the `ants_tenants` bucket over the node's options),
 * the kill switch (a suspension stops the tenant's actors here, a resume wakes them), the
 * admission check of the hot path, and the task engine's `paused` and `admit` hooks.
 *
 * Promises: a suspended tenant's message is answered `forbidden` with the reason; one a pinned
 * node does not serve, `forbidden`; one over a quota, `quota_exceeded`, counted per tenant and
 * kind. Checks that cost more than a map lookup run only when the tenant has such a quota.
 * `maxActors` and `messagesPerSecond` hold per node (counted here, on the hot path); `kvBytes`
 * and `taskBacklog` hold swarm-wide (figures the server holds: the tenant's state in
 * `ants_state`, read in the background by StateBytes; its tasks waiting in the task stream).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { Messaging } from "../agent/actor-context.ts"
import type { Stigmergy, StigmergyOptions } from "../actor/artifact-delivery.ts"
import type { TypeHost } from "../actor/type-host.ts"
import type { TenantScopes } from "../actor/tenant-scope.ts"
import type { NodeTaskOptions } from "../tasks/node-tasks.ts"
import { taskBacklog } from "../tasks/streams.ts"
import type { Credentials } from "../security/connection-options.ts"
import { TenantPolicy, type TenantPolicyOptions } from "../security/tenant-policy.ts"
import { tenantsBucket, watchTenants } from "../security/tenant-control.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import type { QuotaKind, Suspension } from "../../subjects/tenancy.ts"
import { createTenantScopes } from "./tenant-scopes.ts"
import { StateBytes } from "./tenant-state-bytes.ts"

/** How long a suspended tenant's handler in flight may finish (then its state is checkpointed) before it is stopped. */
export const SUSPEND_GRACE_MS = 2_000

export interface TenancyOptions {
  readonly id: string
  readonly nc: NatsConnection
  readonly messaging: Messaging
  readonly stigmergy: () => Stigmergy
  readonly hosts: ReadonlyMap<string, TypeHost>
  /** Server URLs tenant connections use (the node's). */
  readonly servers: string
  readonly credentials?: Credentials
  readonly authDir?: string
  readonly tenants?: ReadonlyArray<string>
  readonly quotas?: TenantPolicyOptions
  readonly replicas: number
  readonly log: (level: "info" | "warn" | "error", message: string) => void
  /** The audit hook of pheromone writes, for tenants' own stigmergy. */
  readonly onPheromoneWrite?: StigmergyOptions["onPheromoneWrite"]
  /** The election of each tenant's pheromone sweeper, on the node's own connection. */
  readonly sweeperElection?: StigmergyOptions["sweeperElection"]
}

export interface Tenancy {
  readonly scopes: TenantScopes
  /** Undefined when a message to `tenant`'s actor (`isNew`: one not active here) may go on; else the refusal. */
  admit(tenant: string, isNew: boolean, now?: number): { readonly code: "forbidden" | "quota_exceeded"; readonly message: string } | undefined
  /** The task engine options with the tenant hooks (suspended tenants' tasks wait, backlog quota). */
  taskOptions(given: NodeTaskOptions | undefined): NodeTaskOptions
  stats(): {
    tenants: Record<string, number>
    tenantConnections: ReadonlyArray<string>
    suspended: Record<string, Suspension>
    quotaRefusals: Record<string, Partial<Record<QuotaKind, number>>>
  }
  close(): Promise<void>
}

export async function startTenancy(o: TenancyOptions): Promise<Tenancy> {
  const { hosts, id, log } = o
  const scopes = createTenantScopes({
    nc: o.nc,
    messaging: o.messaging,
    stigmergy: o.stigmergy,
    ...(o.authDir ? { authDir: o.authDir } : {}),
    ...(o.tenants ? { tenants: o.tenants } : {}),
    servers: o.servers,
    tls: { tlsCa: o.credentials?.tlsCa, tlsCert: o.credentials?.tlsCert, tlsKey: o.credentials?.tlsKey },
    replicas: o.replicas,
    onPheromoneWrite: o.onPheromoneWrite,
    sweeperElection: o.sweeperElection,
    nodeId: id,
    log,
  })
  const policy = new TenantPolicy(o.quotas)

  const activeByTenant = () => {
    const out: Record<string, number> = {}
    for (const h of hosts.values()) for (const c of h.cells.values()) out[c.tenant] = (out[c.tenant] ?? 0) + 1
    return out
  }
  /** The tenant's actors active on this node (counted only when a new one would activate). */
  const activeOf = (tenant: string) => {
    let actors = 0
    for (const h of hosts.values()) for (const c of h.cells.values()) if (c.tenant === tenant) actors++
    return actors
  }
  // the kvBytes quota holds swarm-wide: the tenant's state in ants_state, as the server holds it
  const stateBytes = new StateBytes(o.nc, log)

  // The kill switch: a suspended tenant's actors stop here (state checkpointed), whatever they
  // were doing; what it stopped is woken again on resume, each from its checkpoint.
  const stoppedBySuspension = new Map<string, Array<{ type: string; id: string }>>()
  const suspendLocally = (tenant: string, reason: string) => {
    const stopped = stoppedBySuspension.get(tenant) ?? []
    for (const h of hosts.values()) {
      for (const c of [...h.cells.values()]) {
        if (c.tenant !== tenant) continue
        stopped.push({ type: h.definition.type, id: c.id })
        void h.shutdown(c, `tenant "${tenant}" suspended: ${reason}`, SUSPEND_GRACE_MS).catch(() => undefined)
      }
    }
    stoppedBySuspension.set(tenant, stopped)
    log("warn", `tenant "${tenant}" suspended (${reason}): stopping its ${stopped.length} actor(s) on node ${id}`)
  }
  const resumeLocally = (tenant: string) => {
    const stopped = stoppedBySuspension.get(tenant) ?? []
    stoppedBySuspension.delete(tenant)
    for (const a of stopped) {
      try {
        o.nc.publish(agentSubject({ tenant, type: a.type, id: a.id, tag: "_Wake" }))
      } catch (e) {
        log("warn", `could not wake ${a.type}/${a.id} of tenant "${tenant}": ${(e as Error).message}`)
      }
    }
    log("warn", `tenant "${tenant}" resumed on node ${id}: waking the ${stopped.length} actor(s) its suspension stopped here`)
  }
  const watch = await watchTenants(
    await tenantsBucket(o.nc, o.replicas),
    (tenant, record) => {
      const was = policy.suspended(tenant)
      policy.update(tenant, record)
      if (record?.suspended && !was) suspendLocally(tenant, record.suspended.reason)
      else if (!record?.suspended && was) resumeLocally(tenant)
    },
    log,
  )

  const paused = (tenant: string) => policy.suspended(tenant)?.reason
  // the task backlog quota: the tenant's tasks waiting in the stream, read only when it has one
  const admitTask = async (tenant: string) => {
    if (policy.quotas(tenant).taskBacklog === undefined) return undefined
    return policy.admitTask(tenant, await taskBacklog(o.nc, tenant))
  }

  return {
    scopes,
    admit(tenant, isNew, now) {
      const suspension = policy.suspended(tenant)
      if (suspension !== undefined) return { code: "forbidden", message: `tenant "${tenant}" is suspended: ${suspension.reason}` }
      const notServed = scopes.refusal(tenant)
      if (notServed !== undefined) return { code: "forbidden", message: notServed }
      const overRate = policy.admitMessage(tenant, now)
      if (overRate !== undefined) return { code: "quota_exceeded", message: overRate }
      if (isNew && policy.limitsActivation(tenant)) {
        const q = policy.quotas(tenant)
        const over =
          (q.maxActors === undefined ? undefined : policy.admitActor(tenant, activeOf(tenant))) ??
          (q.kvBytes === undefined ? undefined : policy.admitStateBytes(tenant, stateBytes.of(tenant)))
        if (over !== undefined) return { code: "quota_exceeded", message: over }
      }
      return undefined
    },
    taskOptions: (given) => ({ ...given, admit: admitTask, workerDefaults: { ...given?.workerDefaults, paused } }),
    stats: () => ({
      tenants: activeByTenant(),
      tenantConnections: scopes.openTenants(),
      suspended: policy.suspensions(),
      quotaRefusals: structuredClone(policy.refusals),
    }),
    async close() {
      watch.stop()
      await scopes.close()
    },
  }
}
