/**
 * What the dashboard shows, read through the caller's own principal and scoped to one tenant:
 *
 *   everyone    the tenant's pheromones (a prefix read of its own keys), its recent supervisor
 *               events (the gateway listens on ants._sys.supervisor.<tenant>.> once a dashboard
 *               asks)
 *   operators   also the nodes (partitions, actors by state), the tenant's actors by type and
 *               state, its tasks (the newest status records of all its tasks, whoever submitted
 *               them: runtime/tasks/recent-tasks.ts), its approval requests, its dead letters,
 *               and costs: the current hourly rate at the seed's cost model and the model spend
 *               recorded in `ants_model_cost`
 *
 * A tenant's principal may not read node inspection, approvals, dead letters, the task status
 * bucket or the cost bucket (the server refuses them), so a tenant token's snapshot has those
 * panels as `null`, and its tasks are those it submitted through this gateway (their status
 * asked one by one over the status subject, which a tenant may ask).
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { supervisorWildcard } from "../../subjects/grammar.ts"
import { MODEL_COST_BUCKET } from "../../subjects/models.ts"
import { listActors, listNodes } from "../cluster/inspect-client.ts"
import { addSpend, kvCostStore, NO_SPEND } from "../models/mod.ts"
import type { Spend } from "../models/cost.ts"
import { createPheromones } from "../stigmergy/pheromones.ts"
import { deadLetters } from "../tasks/dead-letters.ts"
import { recentTasks } from "../tasks/recent-tasks.ts"
import { requestTaskStatus } from "../tasks/status.ts"
import type { Caller } from "./principals.ts"
import { askApprovals } from "./approval-routes.ts"
import { decodeReply } from "../../subjects/envelope.ts"

/** The seed design's cost model: dollars per hour of an active and of a sleeping agent. */
export const SEED_COST_MODEL = { activePerHour: 0.21, sleepingPerHour: 0.01 } as const

const RECENT = 50
/** Tenants (per principal) whose supervisor events are kept; the one unused longest is dropped past this. */
const MAX_FEEDS = 256
const decoder = new TextDecoder()

export interface DashboardSources {
  /** The connection of the caller. */
  connection(caller: Caller): Promise<NatsConnection>
}

/** Per tenant (and principal): the last supervisor events and the tasks submitted through the gateway. */
export interface TenantFeed {
  readonly supervisor: unknown[]
  readonly tasks: string[]
}

export function dashboardData(sources: DashboardSources) {
  const feeds = new Map<string, { feed: TenantFeed; sub: Subscription | undefined }>()

  const feedOf = async (caller: Caller, tenant: string): Promise<TenantFeed> => {
    const key = `${caller.connectionKey}\u0000${tenant}`
    let f = feeds.get(key)
    if (f !== undefined) {
      // most recently used last: the first entry is the one to drop
      feeds.delete(key)
      feeds.set(key, f)
    } else {
      if (feeds.size >= MAX_FEEDS) {
        const [oldest, o] = feeds.entries().next().value!
        o.sub?.unsubscribe()
        feeds.delete(oldest)
      }
      f = { feed: { supervisor: [], tasks: [] }, sub: undefined }
      feeds.set(key, f)
      const entry = f
      const nc = await sources.connection(caller)
      entry.sub = nc.subscribe(supervisorWildcard(tenant), {
        callback: (_e, m) => {
          try {
            entry.feed.supervisor.unshift({ subject: m.subject, ...JSON.parse(decoder.decode(m.data)) })
            entry.feed.supervisor.length = Math.min(entry.feed.supervisor.length, RECENT)
          } catch {
            // not JSON: not a supervisor event
          }
        },
      })
      await nc.flush()
    }
    return f.feed
  }

  return {
    feedOf,
    /** Remembers a task submitted through the gateway, for the tasks panel. */
    async taskSubmitted(caller: Caller, tenant: string, id: string) {
      const f = await feedOf(caller, tenant)
      if (!f.tasks.includes(id)) f.tasks.unshift(id)
      f.tasks.length = Math.min(f.tasks.length, RECENT)
    },
    async snapshot(caller: Caller, tenant: string) {
      const nc = await sources.connection(caller)
      const feed = await feedOf(caller, tenant)
      const settle = async <T>(p: Promise<T>): Promise<T | { error: string }> => p.catch((e: Error) => ({ error: e.message }))
      const pheromones = createPheromones(nc, { tenant })
      const [trails, submitted, ops] = await Promise.all([
        settle(pheromones.detect({}).finally(() => pheromones.close())),
        caller.operator ? Promise.resolve([]) : Promise.all(feed.tasks.map((id) => requestTaskStatus(nc, id, { tenant, timeoutMs: 2_000 }).catch(() => null))),
        caller.operator ? operatorPanels(nc, tenant) : Promise.resolve(null),
      ])
      return {
        at: new Date().toISOString(),
        caller: { name: caller.name, operator: caller.operator, tenant: caller.tenant },
        tenant,
        pheromones: "error" in trails ? trails : trails.map((t) => ({ key: t.key, type: t.type, location: t.location, id: t.id, strength: t.strength, current: t.current, emitter: t.emitter, ageMs: t.ageMs, ttlMs: t.ttlMs })),
        supervisor: feed.supervisor,
        ...(ops ?? { tasks: { scope: "gateway", list: submitted.filter((t) => t !== null), total: null, truncated: false }, nodes: null, actors: null, approvals: null, deadLetters: null, costs: null }),
      }
    },
    async close() {
      for (const f of feeds.values()) f.sub?.unsubscribe()
      feeds.clear()
    },
  }
}

async function operatorPanels(nc: NatsConnection, tenant: string) {
  const [nodes, actors, tasks, dead, spend, approvals] = await Promise.all([
    listNodes(nc),
    listActors(nc, { tenant, limit: 2_000 }),
    recentTasks(nc, { tenant, limit: RECENT }).then(
      (r) => ({ scope: "tenant" as const, list: r.tasks, total: r.total, truncated: r.truncated }),
      (e: Error) => ({ scope: "tenant" as const, list: [], total: null, truncated: false, error: e.message }),
    ),
    deadLetters(nc, { tenant })
      .list({ limit: 100 })
      .catch(() => []),
    modelSpend(nc, tenant),
    askApprovals(nc, tenant, "list", {}).then(
      (data) => {
        const env = decodeReply(data)
        return env.ok ? (env.value as unknown[]) : { error: env.error.message }
      },
      (e: Error) => ({ error: e.message }),
    ),
  ])
  type Census = { type: string; active: number; idle: number; warming: number; sleeping: number }
  const byType = new Map<string, Census>()
  for (const a of actors.actors) {
    const t = byType.get(a.type) ?? { type: a.type, active: 0, idle: 0, warming: 0, sleeping: 0 }
    if (a.state === "active" || a.state === "idle" || a.state === "warming" || a.state === "sleeping") t[a.state]++
    byType.set(a.type, t)
  }
  const types = [...byType.values()].sort((a, b) => a.type.localeCompare(b.type))
  return {
    nodes: nodes.map((n) => ({ node: n.node, state: n.state, host: n.host, partitions: n.partitions, frozen: n.frozen, types: n.types, messages: n.messages })),
    actors: { types, list: actors.actors.slice(0, 200).map((a) => ({ type: a.type, id: a.id, state: a.state, node: a.node })), truncated: actors.truncated },
    tasks,
    approvals,
    deadLetters: dead.map((d) => ({ id: d.id, capability: d.capability, reason: d.reason, attempts: d.attempts, lastError: d.lastError, deadLetteredAt: d.deadLetteredAt })),
    costs: {
      model: SEED_COST_MODEL,
      types: types.map((t) => {
        const active = t.active + t.idle + t.warming
        const sleeping = t.sleeping
        return { type: t.type, active, sleeping, perHour: active * SEED_COST_MODEL.activePerHour + sleeping * SEED_COST_MODEL.sleepingPerHour, spend: spend[t.type] ?? NO_SPEND }
      }),
      spend,
    },
  }
}

/** Model spend per type of one tenant, from `ants_model_cost` (empty when no model was ever called: no bucket). */
async function modelSpend(nc: NatsConnection, tenant: string): Promise<Record<string, Spend>> {
  const kv = await new Kvm(nc).open(MODEL_COST_BUCKET).catch(() => undefined)
  const store = kv && (await kv.status().then(() => kvCostStore(kv), () => undefined))
  const out: Record<string, Spend> = {}
  store?.stop()
  for (const { address, spend } of store?.all() ?? []) if (address.tenant === tenant) out[address.type] = addSpend(out[address.type] ?? NO_SPEND, spend)
  return out
}
