/**
 * A runtime node in its own process, for the multi-process scenarios (swarm, failover):
 *
 *   node --import tsx bench/probes/bench-node.ts '<json config>'
 *
 * Config: `{url, nodeId, role: "failover" | "swarm", agentIds?, taskConcurrency?}`. Prints
 * `ready <nodeId>` once serving; SIGTERM drains and exits 0; the scenario may kill -9 it.
 *
 * role `failover`: hosts `bench_where`.
 * role `swarm`: hosts `bench_forager`, runs a task broker for `example.work` through the
 * marketplace (task pheromones announce the work, bidders score themselves with the
 * pheromone strength), and one bidder per agent id whose work is an ask to its forager actor.
 * Answers `bench.swarm.report` with per-agent completed tasks and busy time.
 */
import { createPheromones } from "../../runtime/pheromones/pheromones.ts"
import { startNode } from "../../runtime/node.ts"
import { benchForager, benchWhere } from "../agents.ts"
import { importIfPresent, pickFunction } from "../support.ts"

interface Config {
  url: string
  nodeId: string
  role: "failover" | "swarm"
  agentIds?: string[]
  taskConcurrency?: number
}

export const SWARM_REPORT_SUBJECT = "bench.swarm.report"
const CAPABILITY = "example.work"

const config = JSON.parse(process.argv[2] ?? "{}") as Config
const quiet = (level: string, message: string) => {
  if (level === "error" && process.env.ANTS_BENCH_VERBOSE) process.stderr.write(`[${config.nodeId}] ${message}\n`)
}

if (config.role === "failover") {
  const node = await startNode({ agents: [benchWhere], nats: config.url, nodeId: config.nodeId, logger: quiet })
  process.once("SIGTERM", () => void node.drain().then(() => process.exit(0)))
  process.stdout.write(`ready ${config.nodeId}\n`)
} else {
  const node = await startNode({ agents: [benchForager], nats: config.url, nodeId: config.nodeId, logger: quiet })
  const tasks = await importIfPresent("runtime/tasks/mod.ts")
  const createMarketplace = pickFunction(tasks, "createMarketplace")!
  const pheromoneSignals = pickFunction(tasks, "pheromoneSignals")!
  const serveCapability = pickFunction(tasks, "serveCapability")!
  const ph = createPheromones(node.nc, { emitter: config.nodeId })
  const market = createMarketplace(node.nc, { signals: pheromoneSignals(ph) })
  const stats = new Map<string, { completed: number; failed: number; busyMs: number }>()
  const bidders: Array<{ agentId: string; stats(): Record<string, number> }> = []
  for (const agentId of config.agentIds ?? []) {
    const s = { completed: 0, failed: 0, busyMs: 0 }
    stats.set(agentId, s)
    const ref = node.client.ref(benchForager, agentId)
    bidders.push(
      await market.bid({
        agentId,
        capabilities: [CAPABILITY],
        handle: async (payload: { ms?: number }) => {
          const t = performance.now()
          try {
            const r = await ref.ask("Work", { ms: payload?.ms ?? 0 }, { timeoutMs: 30_000 })
            s.completed++
            return r
          } catch (e) {
            s.failed++
            throw e
          } finally {
            s.busyMs += performance.now() - t
          }
        },
      }),
    )
  }
  const broker = await serveCapability(node.nc, CAPABILITY, market.handler(), { concurrency: config.taskConcurrency ?? 16 })
  node.nc.subscribe(SWARM_REPORT_SUBJECT, {
    callback: (_e, m) => {
      const agents = bidders.map((b) => ({ id: b.agentId, ...stats.get(b.agentId)!, ...b.stats() }))
      m.respond(new TextEncoder().encode(JSON.stringify({ node: config.nodeId, agents, broker: broker.stats() })))
    },
  })
  await node.nc.flush()
  process.once("SIGTERM", () => {
    void (async () => {
      await broker.stop({ graceMs: 1000 }).catch(() => undefined)
      await market.stop().catch(() => undefined)
      await ph.close().catch(() => undefined)
      await node.drain()
      process.exit(0)
    })()
  })
  process.stdout.write(`ready ${config.nodeId}\n`)
}
