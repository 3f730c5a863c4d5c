/**
 * swarm: N agents (default 24; quick 8; --agents) spread over K runtime node processes
 * (default 3; quick 2; --nodes) forage a backlog of `example.work`-style tasks (50 ms of work
 * each) through the task marketplace: every task is announced as a `task` pheromone at its
 * capability's location, idle agents bid with a score that includes the pheromone strength,
 * exactly one claims it and does the work in its forager actor. Reported: throughput
 * (completed tasks/s, with the ideal N × 1000/50 in params), the Gini coefficient of
 * completed tasks per agent (issue target < 0.2, seed < 0.3), and the mean idle fraction of
 * an agent while work was waiting (seed: idle < 20%). With --rate, tasks are submitted at that
 * rate instead of as one backlog. No raw-NATS baseline: there is no raw equivalent of a swarm.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { createInbox } from "@nats-io/nats-core"
import { startNodeProcs, type NodeProc } from "../cluster-procs.ts"
import { sleep } from "../load.ts"
import { gini, mean } from "../stats.ts"
import { decoder, importIfPresent, pickFunction, rawConnection } from "../support.ts"
import type { Scenario, ScenarioContext } from "../types.ts"

const SWARM_REPORT_SUBJECT = "bench.swarm.report"
const TASK_MS = 50

interface AgentReport {
  id: string
  completed: number
  failed: number
  busyMs: number
}
interface NodeReport {
  node: string
  agents: AgentReport[]
}

async function collectReports(nc: NatsConnection, expected: number, waitMs = 1000): Promise<NodeReport[]> {
  const inbox = createInbox()
  const out: NodeReport[] = []
  let done!: () => void
  const finished = new Promise<void>((r) => (done = r))
  const sub = nc.subscribe(inbox, {
    callback: (_e, m) => {
      out.push(JSON.parse(decoder.decode(m.data)) as NodeReport)
      if (out.length >= expected) done()
    },
  })
  nc.publish(SWARM_REPORT_SUBJECT, new Uint8Array(0), { reply: inbox })
  await Promise.race([finished, sleep(waitMs)])
  sub.unsubscribe()
  return out
}

export const swarmScenario: Scenario = {
  name: "swarm",
  summary: "N agents over K node processes foraging tasks by pheromone-guided bids: throughput, Gini of work, idle time",
  async run(ctx: ScenarioContext) {
    const tasks = await importIfPresent("runtime/tasks/mod.ts")
    const pheromones = await importIfPresent("runtime/pheromones/pheromones.ts")
    const startTaskEngine = pickFunction(tasks, "startTaskEngine")
    if (!startTaskEngine || !pickFunction(tasks, "createMarketplace") || !pickFunction(pheromones, "createPheromones")) {
      ctx.skip("needs durable tasks with the marketplace (runtime/tasks) and pheromones (runtime/pheromones)")
      return
    }
    const K = ctx.options.nodes ?? (ctx.quick ? 2 : 3)
    const N = ctx.options.agents ?? (ctx.quick ? 8 : 24)
    const T = ctx.quick ? 120 : 2000
    const agentIds = Array.from({ length: N }, (_, i) => `ant${i}`)
    const nc = await rawConnection(ctx.natsUrl, "bench-swarm-driver")
    let procs: NodeProc[] = []
    const engine = await startTaskEngine(nc)
    try {
      ctx.progress(0.02, `starting ${K} node processes`)
      procs = await startNodeProcs(
        Array.from({ length: K }, (_, k) => ({
          url: ctx.natsUrl,
          nodeId: `bench-swarm-${k}`,
          role: "swarm",
          agentIds: agentIds.filter((_, i) => i % K === k),
          // as many auctions at once as there are agents: a call for bids that finds no idle agent waits for the no-bid timeout
          taskConcurrency: Math.ceil(N / K),
        })),
      )
      // let membership settle so partitions have one owner each
      await sleep(1500)
      ctx.progress(0.2, `foraging ${T} tasks with ${N} agents on ${K} nodes`)
      const rate = ctx.options.rate
      const t0 = performance.now()
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
              await engine.submit({ capability: "example.work", payload: { ms: TASK_MS } })
              submitted++
            }
          }),
        )
      })()
      const deadline = Date.now() + (ctx.quick ? 60_000 : 300_000)
      let reports: NodeReport[] = []
      let completed = 0
      let tEnd = t0
      while (Date.now() < deadline) {
        await sleep(100)
        reports = await collectReports(nc, K, 500)
        completed = reports.reduce((s, r) => s + r.agents.reduce((a, x) => a + x.completed, 0), 0)
        tEnd = performance.now()
        ctx.progress(0.2 + (0.8 * completed) / T, `${completed}/${T} tasks done (${submitted} submitted)`)
        if (completed >= T) break
      }
      await submitter
      const elapsedMs = tEnd - t0
      // the figures need every node's report: ask again until all K answered
      for (let i = 0; i < 10 && reports.length < K; i++) reports = await collectReports(nc, K, 1000)
      if (reports.length < K) ctx.log(`only ${reports.length} of ${K} nodes reported; their agents count as idle`)
      const agents = reports.flatMap((r) => r.agents)
      const work = agentIds.map((id) => agents.find((a) => a.id === id)?.completed ?? 0)
      const idle = agentIds.map((id) => Math.max(0, 1 - (agents.find((a) => a.id === id)?.busyMs ?? 0) / elapsedMs))
      const failed = agents.reduce((s, a) => s + a.failed, 0)
      const params = { agents: N, nodes: K, tasks: T, taskMs: TASK_MS, rate: rate ?? "backlog", idealThroughput: (N * 1000) / TASK_MS }
      const note = completed < T ? `only ${completed} of ${T} tasks completed before the deadline` : failed ? `${failed} agent attempts failed` : undefined
      ctx.record({ metric: "throughput", value: (completed * 1000) / elapsedMs, unit: "tasks/s", better: "higher", headline: true, params, note })
      const sorted = [...work].sort((a, b) => a - b)
      const idleAgents = agents.filter((a) => a.completed === 0)
      if (idleAgents.length) ctx.log(`agents without work: ${idleAgents.map((a) => JSON.stringify(a)).join(" ")}`)
      ctx.record({
        metric: "Gini of work per agent",
        value: gini(work),
        unit: "",
        better: "lower",
        target: "value < 0.2",
        headline: true,
        params: { ...params, min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1], agentsWithoutWork: work.filter((w) => w === 0).length, reports: reports.length },
      })
      ctx.record({ metric: "agent idle time", value: mean(idle) * 100, unit: "%", better: "lower", target: "value < 20", headline: true, params })
    } finally {
      await Promise.all(procs.map((p) => p.stop()))
      await (engine as { stop(): Promise<void> }).stop().catch(() => undefined)
      await nc.close()
    }
  },
}
