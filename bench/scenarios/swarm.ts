/**
 * swarm: N agents (default 24; quick 8; --agents) spread over K runtime node processes
 * (default 3; quick 2; --nodes) forage T tasks (default 2000; quick 120; --tasks) of 50 ms of
 * work each through the task marketplace, guided by pheromones. The tasks are spread over Z
 * locations (capabilities `bench.forage.z0` ... , Z = min(4, N)) with mixed priorities
 * (critical 10, high 7, normal 5, low 3, background 1, in turn within each location), so the
 * `task` trail each auction deposits at its location has a strength that varies from task to
 * task (priority/10 × urgency × 1/attempt: 0.05 to 0.5, weaker on a retry). Every node runs a
 * broker per location (two auctions at once per agent of the node, spread over the locations:
 * a call no agent is idle for waits open for the next that is) and one bidder per agent that
 * bids on every location; a bidder reads
 * the task's trail when the call for bids comes (its current, evaporated strength is part of
 * the bid score with capability match, load and success rate), the best bid claims first,
 * exactly one claims, and the winner works in its forager actor.
 *
 * Reported: throughput (tasks settled by the queue, i.e. recorded completed, per second of the
 * window), the Gini coefficient of completed tasks per agent (issue target < 0.2, seed < 0.3),
 * and the mean idle fraction of an agent over the window (seed: idle < 20%). The window runs
 * from the first submission to the last completion any agent reported (nodes report each
 * agent's first start and last completion, epoch ms, one machine's clock), not to the poll that
 * noticed it. With --rate, tasks are submitted at that rate instead of as one backlog. No raw-
 * NATS baseline: there is no raw equivalent of a swarm.
 *
 * Then recruitment, twice with fresh node processes: the agents are specialised (agent i bids
 * on zone i mod Z only, each node's brokers run two auctions per zone at once for each of its
 * specialists of the zone) and 70% of the T tasks are in zone 0. Recruitment off: the other zones' agents
 * run dry and idle while zone 0 queues. Recruitment on: every node reports each zone's load
 * every 250 ms (tasks waiting over the zone's specialists swarm-wide, `load` pheromones at
 * `elastic.capability.<zone>`) and an idle agent joins a zone at load ≥ 0.9 (bidding on it, with
 * a broker slot of its own), leaving it below 0.5 (runtime/elastic/recruit.ts). Reported for
 * each: throughput, Gini of work per agent and mean idle time, with the number of recruitments.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { gatherReplies, partitionsSettled, startNodeProcs, type NodeProc } from "../cluster-procs.ts"
import { sleep } from "../load.ts"
import { gini, mean } from "../stats.ts"
import { importIfPresent, pickFunction, rawConnection, tasks as taskCount } from "../support.ts"
import type { Scenario, ScenarioContext } from "../types.ts"

const SWARM_REPORT_SUBJECT = "bench.swarm.report"
const TASK_MS = 50
/** The seed's priority levels, in turn. */
const PRIORITIES = [10, 7, 5, 3, 1] as const

interface AgentReport {
  id: string
  /** Tasks this agent's handler completed / failed. */
  completed: number
  failed: number
  busyMs: number
  /** Epoch ms of the agent's first task start and last completion (null before any). */
  firstStartAt: number | null
  lastDoneAt: number | null
  /** The marketplace bidder's own counters (bids, won, lost, ...). */
  bidder: Record<string, number>
}
interface NodeReport {
  node: string
  agents: AgentReport[]
  /** Settled by this node's brokers: recorded completed or dead-lettered by the queue. */
  settled: { completed: number; deadLettered: number; failedAttempts: number; lastSettledAt: number | null }
  /** Recruitment counters when it is on (checks, recruited, released). */
  recruiter?: { checks: number; recruited: number; released: number } | null
}

function collectReports(nc: NatsConnection, expected: number, waitMs = 1000): Promise<NodeReport[]> {
  return gatherReplies(nc, SWARM_REPORT_SUBJECT, expected, waitMs, (r) => r as NodeReport)
}

/**
 * Auctions a broker runs at once per agent able to bid on them: a call no agent was idle for stays
 * open at the marketplaces (runtime/tasks/market-calls.ts), so an agent that finishes a task claims
 * its next at once instead of waiting while a broker settles the last one and calls for bids again.
 */
export const AUCTIONS_PER_AGENT = 2

/** The zone capabilities and, per node, how many auctions each zone's broker runs at once (summing to `AUCTIONS_PER_AGENT` per agent of the node). */
export function zonePlan(agentsPerNode: ReadonlyArray<number>, zones: number): Array<Array<{ capability: string; concurrency: number }>> {
  return agentsPerNode.map((agents, k) => {
    const a = agents * AUCTIONS_PER_AGENT
    return Array.from({ length: zones }, (_, z) => ({
      capability: `bench.forage.z${z}`,
      // the remainder goes to different zones on different nodes, so every zone has a broker
      concurrency: Math.floor(a / zones) + ((z + k) % zones < a % zones ? 1 : 0),
    }))
  })
}

/** One foraging run: node processes started, T tasks submitted, the nodes' reports collected, processes stopped. */
interface Phase {
  /** Each agent bids on its own zone only (agent i: zone i mod Z). */
  readonly specialise: boolean
  /** Recruitment by zone load (only with `specialise`). */
  readonly recruit: boolean
  /** 70% of the tasks in zone 0, the rest spread over the others (else evenly in turn). */
  readonly skewed: boolean
  readonly label: string
}

interface PhaseResult {
  readonly reports: NodeReport[]
  readonly completed: number
  readonly deadLettered: number
  readonly failedAttempts: number
  readonly windowMs: number
  readonly lastDone: number
  readonly lastSettled: number
  readonly work: number[]
  readonly idle: number[]
}

function zoneOf(i: number, Z: number, skewed: boolean): number {
  if (!skewed || Z < 2) return i % Z
  const d = i % 10
  return d < 7 ? 0 : 1 + ((d - 7) % (Z - 1))
}

async function forage(ctx: ScenarioContext, nc: NatsConnection, engine: { submit(t: unknown): Promise<unknown> }, K: number, N: number, T: number, Z: number, phase: Phase, progress: [number, number]): Promise<PhaseResult> {
  const agentIds = Array.from({ length: N }, (_, i) => `ant${i}`)
  const perNode = Array.from({ length: K }, (_, k) => agentIds.filter((_, i) => i % K === k))
  const zoneCap = (z: number) => `bench.forage.z${z}`
  const specialise = phase.specialise ? Object.fromEntries(agentIds.map((id, i) => [id, zoneCap(i % Z)])) : undefined
  // AUCTIONS_PER_AGENT auctions at once per agent able to bid on them
  const plan = specialise
    ? perNode.map((ids) => Array.from({ length: Z }, (_, z) => ({ capability: zoneCap(z), concurrency: AUCTIONS_PER_AGENT * ids.filter((id) => specialise[id] === zoneCap(z)).length })))
    : zonePlan(
        perNode.map((a) => a.length),
        Z,
      )
  const capacity = Object.fromEntries(Array.from({ length: Z }, (_, z) => [zoneCap(z), agentIds.filter((id) => !specialise || specialise[id] === zoneCap(z)).length]))
  const [p0, p1] = progress
  let procs: NodeProc[] = []
  try {
    ctx.progress(p0, `${phase.label}: starting ${K} node processes`)
    procs = await startNodeProcs(
      Array.from({ length: K }, (_, k) => ({
        url: ctx.natsUrl,
        nodeId: `bench-swarm-${k}`,
        role: "swarm",
        agentIds: perNode[k],
        zones: plan[k],
        ...(specialise ? { specialise } : {}),
        ...(phase.recruit ? { recruit: { capacity } } : {}),
      })),
    )
    // asks routed the same from every node: each partition served once
    const placed = await partitionsSettled(nc, procs.map((p) => p.nodeId))
    if (!placed.settled) ctx.log(`${phase.label}: partitions not settled within 10 s (${placed.seen}); foraging anyway`)
    ctx.progress(p0 + 0.1 * (p1 - p0), `${phase.label}: foraging ${T} tasks with ${N} agents on ${K} nodes in ${Z} locations`)
    const rate = ctx.options.rate
    const t0 = performance.now()
    const t0Epoch = Date.now()
    let submitted = 0
    const submitter = (async () => {
      let next = 0
      await Promise.all(
        Array.from({ length: rate ? 1 : 32 }, async () => {
          while (next < T) {
            const i = next++
            if (rate) {
              const ahead = t0 + (i * 1000) / rate - performance.now()
              if (ahead > 1) await sleep(ahead)
            }
            const priority = PRIORITIES[Math.floor(i / Z) % PRIORITIES.length]
            await engine.submit({ capability: zoneCap(zoneOf(i, Z, phase.skewed)), priority, payload: { ms: TASK_MS } })
            submitted++
          }
        }),
      )
    })()
    const deadline = Date.now() + (ctx.quick ? 60_000 : 300_000)
    let reports: NodeReport[] = []
    const settledOf = (rs: NodeReport[]) => rs.reduce((s, r) => s + r.settled.completed + r.settled.deadLettered, 0)
    let settled = 0
    while (Date.now() < deadline) {
      await sleep(250)
      reports = await collectReports(nc, K, 500)
      settled = settledOf(reports)
      ctx.progress(p0 + (p1 - p0) * (0.1 + (0.9 * Math.min(settled, T)) / T), `${phase.label}: ${settled}/${T} tasks settled (${submitted} submitted)`)
      if (settled >= T) break
    }
    await submitter
    // the figures need every node's report: ask again until all K answered
    for (let i = 0; i < 10 && reports.length < K; i++) reports = await collectReports(nc, K, 1000)
    if (reports.length < K) ctx.log(`${phase.label}: only ${reports.length} of ${K} nodes reported; their agents count as idle`)
    const agents = reports.flatMap((r) => r.agents)
    const lastDone = Math.max(t0Epoch + 1, ...agents.map((a) => a.lastDoneAt ?? 0))
    const windowMs = lastDone - t0Epoch
    const idleAgents = agents.filter((a) => a.completed === 0)
    if (idleAgents.length) ctx.log(`${phase.label}: agents without work: ${idleAgents.map((a) => JSON.stringify(a)).join(" ")}`)
    return {
      reports,
      completed: reports.reduce((s, r) => s + r.settled.completed, 0),
      deadLettered: reports.reduce((s, r) => s + r.settled.deadLettered, 0),
      failedAttempts: reports.reduce((s, r) => s + r.settled.failedAttempts, 0),
      windowMs,
      lastDone,
      lastSettled: Math.max(0, ...reports.map((r) => r.settled.lastSettledAt ?? 0)),
      work: agentIds.map((id) => agents.find((a) => a.id === id)?.completed ?? 0),
      idle: agentIds.map((id) => Math.max(0, 1 - (agents.find((a) => a.id === id)?.busyMs ?? 0) / windowMs)),
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()))
  }
}

function problemsOf(r: PhaseResult, T: number): string | undefined {
  const problems = [
    r.completed < T ? `only ${r.completed} of ${T} tasks completed before the deadline` : "",
    r.deadLettered ? `${r.deadLettered} dead-lettered` : "",
    r.failedAttempts ? `${r.failedAttempts} attempt${r.failedAttempts === 1 ? "" : "s"} failed (retried by the queue)` : "",
  ].filter(Boolean)
  return problems.length ? problems.join("; ") : undefined
}

export const swarmScenario: Scenario = {
  name: "swarm",
  summary: "N agents over K node processes foraging tasks by pheromone-guided bids: throughput, Gini of work, idle time; then specialised agents under skewed work, recruitment off and on",
  async run(ctx: ScenarioContext) {
    const tasks = await importIfPresent("runtime/tasks/mod.ts")
    const pheromones = await importIfPresent("runtime/stigmergy/pheromones.ts")
    const startTaskEngine = pickFunction(tasks, "startTaskEngine")
    if (!startTaskEngine || !pickFunction(tasks, "createMarketplace") || !pickFunction(pheromones, "createPheromones")) {
      ctx.skip("needs durable tasks with the marketplace (runtime/tasks) and pheromones (runtime/stigmergy)")
      return
    }
    const K = ctx.options.nodes ?? (ctx.quick ? 2 : 3)
    const N = ctx.options.agents ?? (ctx.quick ? 8 : 24)
    const T = taskCount(ctx, 2000, 120)
    const Z = Math.min(4, N)
    const nc = await rawConnection(ctx.natsUrl, "bench-swarm-driver")
    const engine = (await startTaskEngine(nc)) as { submit(t: unknown): Promise<unknown>; stop(): Promise<void> }
    try {
      const base = await forage(ctx, nc, engine, K, N, T, Z, { specialise: false, recruit: false, skewed: false, label: "generalists" }, [0.02, 0.5])
      const params = {
        agents: N,
        nodes: K,
        tasks: T,
        locations: Z,
        priorities: PRIORITIES.join("/"),
        taskMs: TASK_MS,
        rate: ctx.options.rate ?? "backlog",
        idealThroughput: (N * 1000) / TASK_MS,
        windowMs: Math.round(base.windowMs),
        settleLagMs: base.lastSettled ? base.lastSettled - base.lastDone : null,
      }
      const note = problemsOf(base, T)
      ctx.record({ metric: "throughput", value: (base.completed * 1000) / base.windowMs, unit: "tasks/s", better: "higher", headline: true, params, note })
      const sorted = [...base.work].sort((a, b) => a - b)
      ctx.record({
        metric: "Gini of work per agent",
        value: gini(base.work),
        unit: "",
        better: "lower",
        target: "value < 0.2",
        headline: true,
        params: { ...params, min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1], agentsWithoutWork: base.work.filter((w) => w === 0).length, reports: base.reports.length },
        note: "issue target < 0.2 (seed < 0.3)",
      })
      ctx.record({ metric: "agent idle time", value: mean(base.idle) * 100, unit: "%", better: "lower", target: "value < 20", targetFrom: "seed", headline: true, params })

      // Specialised agents (each bids on its own zone), 70% of the work in zone 0: without
      // recruitment the other zones' agents idle while zone 0's queue; with it, nodes report each
      // zone's load (waiting tasks over its specialists) and idle agents join a critical zone.
      for (const recruit of [false, true]) {
        const label = `specialised, skewed, recruitment ${recruit ? "on" : "off"}`
        const r = await forage(ctx, nc, engine, K, N, T, Z, { specialise: true, recruit, skewed: true, label }, recruit ? [0.75, 1] : [0.5, 0.75])
        const recruited = r.reports.reduce((s, x) => s + (x.recruiter?.recruited ?? 0), 0)
        const p = { ...params, windowMs: Math.round(r.windowMs), skew: "70% zone 0", recruitment: recruit ? "on" : "off", recruited }
        const n = problemsOf(r, T)
        ctx.record({ metric: `throughput (${label})`, value: (r.completed * 1000) / r.windowMs, unit: "tasks/s", better: "higher", params: p, note: n })
        ctx.record({ metric: `Gini of work per agent (${label})`, value: gini(r.work), unit: "", better: "lower", params: { ...p, agentsWithoutWork: r.work.filter((w) => w === 0).length }, note: n })
        ctx.record({ metric: `agent idle time (${label})`, value: mean(r.idle) * 100, unit: "%", better: "lower", params: p, note: n })
      }
    } finally {
      await engine.stop().catch(() => undefined)
      await nc.close()
    }
  },
}
