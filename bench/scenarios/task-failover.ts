/**
 * task-failover: a runtime node process running durable tasks (the example `worker`,
 * capability `example.work`) is killed with SIGKILL while it holds them; the figure is the
 * time from the kill until every task it held runs on the surviving node (its status shows a
 * new attempt claimed by another worker). Survivors hand a dead node's tasks back for
 * redelivery as soon as membership takes it for dead, instead of waiting for the 5-minute
 * claims. Repeated R times (default 3; quick 1), 8 tasks of 30 s each (`--tasks` changes how
 * many). No
 * raw-NATS baseline; the target is the actor failover time, under 2 s median.
 */
import type { TaskRecord } from "../../subjects/tasks.ts"
import { startNodeProc } from "../cluster-procs.ts"
import { sleep, waitFor } from "../load.ts"
import { max, median } from "../stats.ts"
import { rawConnection } from "../support.ts"
import type { Scenario } from "../types.ts"
import { startTaskEngine } from "../../runtime/tasks/engine.ts"

/** Long enough that the first node still runs every task when the second has started (slow on a loaded machine). */
const TASK_MS = 30_000

export const taskFailoverScenario: Scenario = {
  name: "task-failover",
  summary: "kill -9 of a node holding running tasks: time until all its tasks run elsewhere",
  async run(ctx) {
    const nc = await rawConnection(ctx.natsUrl, "bench-task-failover")
    const engine = await startTaskEngine(nc)
    const R = ctx.options.rounds ?? (ctx.quick ? 1 : 3)
    const N = ctx.options.tasks ?? 8
    const times: number[] = []
    let notMoved = 0
    try {
      for (let r = 0; r < R; r++) {
        ctx.progress(r / R, `repeat ${r + 1}/${R}: starting the node that will die`)
        const a = await startNodeProc({ url: ctx.natsUrl, nodeId: `tf-a-${r}`, role: "tasks" })
        const ids: string[] = []
        for (let i = 0; i < N; i++) ids.push((await engine.submit({ capability: "example.work", payload: { ms: TASK_MS }, idempotencyKey: `tf-${Date.now()}-${r}-${i}` })).id)
        const statuses = async () => await Promise.all(ids.map((id) => engine.getStatus(id)))
        let onA: Array<TaskRecord | null> = []
        const claimed = await waitFor(async () => (onA = await statuses()).every((s) => s?.state === "claimed" && s.attempts === 1), 30_000, 20)
        if (!claimed) {
          await a.kill()
          ctx.skip(`repeat ${r + 1}: the first node did not take all ${N} tasks within 30 s`, "tasks run elsewhere after kill -9")
          continue
        }
        const claimantsA = new Set(onA.map((s) => s!.claimedBy))
        const b = await startNodeProc({ url: ctx.natsUrl, nodeId: `tf-b-${r}`, role: "tasks" })
        // B must know A as a member before A dies (it has just joined)
        await sleep(500)
        const t0 = performance.now()
        await a.kill()
        const moved = await waitFor(async () => (await statuses()).every((s) => s !== null && s.attempts >= 2 && !claimantsA.has(s.claimedBy)), 60_000, 20)
        if (moved) times.push(performance.now() - t0)
        else notMoved++
        // the survivor goes too: its tasks are handed to the next repeat's first node when it is
        // taken for dead, or wait for their claims (the embedded server goes with the scenario)
        await b.kill()
      }
      if (times.length > 0) {
        const params = { repeats: R, tasksPerRepeat: N, taskMs: TASK_MS }
        ctx.record({
          metric: "tasks run elsewhere after kill -9, median",
          value: median(times),
          unit: "ms",
          better: "lower",
          target: "value <= 2000",
          headline: true,
          params,
          note: notMoved ? `${notMoved} repeat(s) did not move every task within 60 s` : undefined,
        })
        ctx.record({ metric: "tasks run elsewhere after kill -9, max", value: max(times), unit: "ms", better: "lower", params })
      } else if (notMoved > 0) {
        ctx.skip(`in ${notMoved} repeat(s) the dead node's tasks did not all run elsewhere within 60 s`, "tasks run elsewhere after kill -9, median")
      }
    } finally {
      await engine.stop()
      await nc.close()
    }
  },
}
