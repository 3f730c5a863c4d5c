/**
 * A runtime node in its own process, for the multi-process scenarios (swarm, failover):
 *
 *   node --import tsx bench/probes/bench-node.ts '<json config>'
 *
 * Config: `{url, nodeId, role: "failover" | "swarm", agentIds?, zones?}`. Prints `ready
 * <nodeId>` once serving; SIGTERM drains and exits 0; the scenario may kill -9 it.
 *
 * role `failover`: hosts `bench_where`.
 * role `tasks`: hosts the example `worker` (capability `example.work`), for task failover.
 * role `swarm`: hosts `bench_forager`; one marketplace with this node's pheromone API (task
 * trails deposited at each capability's location, bidders reading the trail's current
 * strength); for each `zones` entry `{capability, concurrency}` a task broker serving that
 * capability through the marketplace; one bidder per agent id, bidding on every zone, whose
 * work is an ask to its forager actor. Answers `bench.swarm.report` with, per agent, the tasks
 * its handler completed or failed, its busy time and the epoch ms of its first start and last
 * completion, the bidder's own counters apart, and per broker the settled tasks (recorded
 * completed or dead-lettered by the queue) with the epoch ms of the last settlement.
 * `specialise` (agent id -> zone) makes each agent bid on its own zone only; `recruit`
 * ({capacity: zone -> its specialists swarm-wide}) reports each zone's load every 250 ms and
 * recruits idle agents into critical zones (runtime/elastic), the report then carries the
 * recruiter's counters.
 */
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { startNode } from "../../runtime/node/node.ts"
import { benchForager, benchWhere } from "../agents.ts"
import { worker } from "../../actors/examples/worker.ts"
import { importIfPresent, pickFunction } from "../support.ts"
import { capabilityBacklogs, capabilityLoads, startLoadReporter, startRecruiter, type Recruit } from "../../runtime/elastic/mod.ts"

interface Zone {
  capability: string
  concurrency: number
}

interface Config {
  url: string
  nodeId: string
  role: "failover" | "swarm" | "tasks"
  agentIds?: string[]
  zones?: Zone[]
  /** Specialised swarm: each agent bids on its own zone only (agent id -> zone capability). */
  specialise?: Record<string, string>
  /** Recruitment on: zone loads (waiting tasks over the zone's specialists swarm-wide) recruit idle agents into critical zones. */
  recruit?: { capacity: Record<string, number> }
}

export const SWARM_REPORT_SUBJECT = "bench.swarm.report"

const config = JSON.parse(process.argv[2] ?? "{}") as Config
const quiet = (level: string, message: string) => {
  if (level === "error" && process.env.ANTS_BENCH_VERBOSE) process.stderr.write(`[${config.nodeId}] ${message}\n`)
}

if (config.role === "tasks") {
  const node = await startNode({ agents: [worker], nats: config.url, nodeId: config.nodeId, logger: quiet })
  process.once("SIGTERM", () => void node.drain().then(() => process.exit(0)))
  process.stdout.write(`ready ${config.nodeId}\n`)
} else if (config.role === "failover") {
  const node = await startNode({ agents: [benchWhere], nats: config.url, nodeId: config.nodeId, logger: quiet })
  process.once("SIGTERM", () => void node.drain().then(() => process.exit(0)))
  process.stdout.write(`ready ${config.nodeId}\n`)
} else {
  const node = await startNode({ agents: [benchForager], nats: config.url, nodeId: config.nodeId, logger: quiet })
  const tasks = await importIfPresent("runtime/tasks/mod.ts")
  const createMarketplace = pickFunction(tasks, "createMarketplace")!
  const serveCapability = pickFunction(tasks, "serveCapability")!
  const ph = createPheromones(node.nc, { emitter: config.nodeId })
  // with a pheromone API the marketplace deposits task/success/danger trails and each bidder
  // reads the task trail's current strength when the call for bids comes
  const market = createMarketplace(node.nc, { pheromones: ph })
  const zones = config.zones ?? []
  const capabilities = zones.map((z) => z.capability)
  interface AgentStats {
    running: number
    completed: number
    failed: number
    busyMs: number
    firstStartAt: number | null
    lastDoneAt: number | null
  }
  const stats = new Map<string, AgentStats>()
  const bidders: Array<{ agentId: string; stats(): Record<string, number> }> = []
  const recruits: Recruit[] = []
  const extraBrokers = new Map<string, { stop(o?: { graceMs?: number }): Promise<void> }>()
  for (const agentId of config.agentIds ?? []) {
    const s: AgentStats = { running: 0, completed: 0, failed: 0, busyMs: 0, firstStartAt: null, lastDoneAt: null }
    stats.set(agentId, s)
    const ref = node.client.ref(benchForager, agentId)
    // what it bids on: every zone, or its own (a specialised swarm) plus the zones it is recruited into
    const bidsOn = config.specialise?.[agentId] ? [config.specialise[agentId]] : [...capabilities]
    recruits.push({
      id: agentId,
      canDo: capabilities,
      isIdle: () => s.running === 0,
      // a recruit bids on the zone and brings a broker slot of its own for it
      join: (cap) => {
        bidsOn.push(cap)
        void serveCapability(node.nc, cap, market.handler(), { concurrency: 1, onEvent }).then((b: { stop(o?: { graceMs?: number }): Promise<void> }) => extraBrokers.set(`${agentId}\u0000${cap}`, b))
      },
      leave: (cap) => {
        bidsOn.splice(bidsOn.indexOf(cap), 1)
        void extraBrokers.get(`${agentId}\u0000${cap}`)?.stop({ graceMs: 5_000 })
        extraBrokers.delete(`${agentId}\u0000${cap}`)
      },
    })
    bidders.push(
      await market.bid({
        agentId,
        capabilities: bidsOn,
        handle: async (payload: { ms?: number }) => {
          const t = performance.now()
          s.firstStartAt ??= Date.now()
          s.running++
          try {
            const r = await ref.ask("Work", { ms: payload?.ms ?? 0 }, { timeoutMs: 30_000 })
            s.completed++
            s.lastDoneAt = Date.now()
            return r
          } catch (e) {
            s.failed++
            throw e
          } finally {
            s.running--
            s.busyMs += performance.now() - t
          }
        },
      }),
    )
  }
  const settled = { completed: 0, deadLettered: 0, failedAttempts: 0, lastSettledAt: null as number | null }
  const onEvent = (e: { type: string }) => {
    if (e.type === "completed" || e.type === "dead_lettered") {
      if (e.type === "completed") settled.completed++
      else settled.deadLettered++
      settled.lastSettledAt = Date.now()
    } else if (e.type === "failed") settled.failedAttempts++
  }
  const brokers: Array<{ stop(o?: { graceMs?: number }): Promise<void> }> = []
  for (const z of zones) {
    if (z.concurrency > 0) brokers.push(await serveCapability(node.nc, z.capability, market.handler(), { concurrency: z.concurrency, onEvent }))
  }
  const capacity = config.recruit?.capacity
  const reporter = capacity
    ? startLoadReporter({ nodeId: config.nodeId, pheromones: () => ph, intervalMs: 250, log: quiet, sample: async () => capabilityLoads("default", await capabilityBacklogs(node.nc, "default"), (c) => capacity[c] ?? 1) })
    : undefined
  const recruiter = capacity ? startRecruiter({ pheromones: ph, recruits, intervalMs: 250, log: quiet }) : undefined
  node.nc.subscribe(SWARM_REPORT_SUBJECT, {
    callback: (_e, m) => {
      const agents = bidders.map((b) => ({ id: b.agentId, ...stats.get(b.agentId)!, bidder: b.stats() }))
      m.respond(new TextEncoder().encode(JSON.stringify({ node: config.nodeId, agents, settled, recruiter: recruiter?.stats() ?? null })))
    },
  })
  await node.nc.flush()
  process.once("SIGTERM", () => {
    void (async () => {
      recruiter?.stop()
      reporter?.stop()
      await Promise.all([...brokers, ...extraBrokers.values()].map((b) => b.stop({ graceMs: 1000 }).catch(() => undefined)))
      await market.stop().catch(() => undefined)
      await ph.close().catch(() => undefined)
      await node.drain()
      process.exit(0)
    })()
  })
  process.stdout.write(`ready ${config.nodeId}\n`)
}
