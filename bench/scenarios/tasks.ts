/**
 * tasks: submit-to-completion throughput of durable tasks (runtime/tasks: submit, a worker
 * serving capability `example.work` with the example handler, payload `{ms: 0}`) against raw
 * JetStream: publish to a work-queue stream (file storage, like the task lanes), one durable
 * pull consumer consuming, the same handler, explicit ack. Both sides submit M tasks per round
 * (default 4000; quick 400; --tasks) with the same number of publishes in flight (64) and
 * process at most 64 at once (worker concurrency; the raw consumer's max_ack_pending), the
 * worker/consumer on its own connection in this process; the clock runs from the first submission to the last completion (ANTS: the
 * worker's completed count; raw: the last ack). Rounds alternate raw and ANTS, after half a
 * round of each side untimed.
 */
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type ConsumerMessages } from "@nats-io/jetstream"
import { EXAMPLE_WORK_CAPABILITY, exampleWorkHandler } from "../../actors/examples/worker.ts"
import { alternate, waitFor } from "../load.ts"
import { median } from "../stats.ts"
import { needFunction, rawConnection, rounds, tasks } from "../support.ts"
import type { Scenario, ScenarioContext } from "../types.ts"

const RAW_STREAM = "BENCH_RAW_TASKS"
const RAW_SUBJECT = "bench.raw.tasks"
const INFLIGHT = 64

interface WorkerLike {
  stats(): { completed: number; failed: number; deadLettered: number }
  stop(o?: { graceMs?: number }): Promise<void>
}
interface EngineLike {
  submit(input: { capability: string; payload?: unknown }): Promise<unknown>
  serveCapability(capability: string, handler: (payload: unknown) => unknown, opts?: Record<string, unknown>): Promise<WorkerLike>
  stop(): Promise<void>
}
type StartTaskEngine = (nc: unknown, opts?: Record<string, unknown>) => Promise<EngineLike>

async function submitAll(n: number, submit: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (next < n) await submit(next++)
    }),
  )
}

export const tasksScenario: Scenario = {
  name: "tasks",
  summary: "durable task submit-to-completion throughput vs raw JetStream publish + pull + ack",
  async run(ctx: ScenarioContext) {
    const startTaskEngine = await needFunction<StartTaskEngine>(ctx, "runtime/tasks/mod.ts", "startTaskEngine", "durable tasks")
    if (!startTaskEngine) return
    const M = tasks(ctx, 4000, 400)
    const R = rounds(ctx, 3, 2)
    const payload = { ms: 0, pad: "x".repeat(ctx.options.payload) }
    const submitNc = await rawConnection(ctx.natsUrl, "bench-task-submitter")
    const workerNc = await rawConnection(ctx.natsUrl, "bench-task-worker")
    const engine = await startTaskEngine(submitNc)
    const workerEngine = await startTaskEngine(workerNc, { scheduler: false, statusResponder: false })
    const worker = await workerEngine.serveCapability(EXAMPLE_WORK_CAPABILITY, exampleWorkHandler, { concurrency: INFLIGHT })
    let messages: ConsumerMessages | undefined
    try {
      // raw: a work-queue stream and a durable pull consumer, consumed continuously
      const jsm = await jetstreamManager(submitNc)
      await jsm.streams.add({ name: RAW_STREAM, subjects: [RAW_SUBJECT], retention: RetentionPolicy.Workqueue, storage: StorageType.File })
      await jsm.consumers.add(RAW_STREAM, { durable_name: "bench", ack_policy: AckPolicy.Explicit, max_ack_pending: INFLIGHT })
      const js = jetstream(submitNc)
      const consumer = await jetstream(workerNc).consumers.get(RAW_STREAM, "bench")
      let rawDone = 0
      messages = await consumer.consume({
        max_messages: 256,
        callback: (m) => {
          void (async () => {
            await exampleWorkHandler(m.json())
            m.ack()
            rawDone++
          })()
        },
      })
      const body = JSON.stringify(payload)

      const raw = async (n: number) => {
        const start = rawDone
        const t0 = performance.now()
        await submitAll(n, () => js.publish(RAW_SUBJECT, body))
        if (!(await waitFor(() => rawDone - start >= n, 120_000, 1))) ctx.log(`raw JetStream: ${rawDone - start} of ${n} tasks done after 120 s; measured as they are`)
        return ((rawDone - start) * 1000) / (performance.now() - t0)
      }
      const ants = async (n: number) => {
        const start = worker.stats().completed
        const t0 = performance.now()
        await submitAll(n, () => engine.submit({ capability: EXAMPLE_WORK_CAPABILITY, payload }))
        if (!(await waitFor(() => worker.stats().completed - start >= n, 120_000, 1))) ctx.log(`ANTS tasks: ${worker.stats().completed - start} of ${n} completed after 120 s; measured as they are`)
        return ((worker.stats().completed - start) * 1000) / (performance.now() - t0)
      }
      // warm-up: the ANTS path is more code than the raw one and needs more runs before the JIT
      // has compiled it (after 100 tasks a side its first round of 4,000 ran about a quarter
      // slower than the next ones on a quiet machine, while raw's did not)
      ctx.progress(0.05, "warm-up")
      const W = Math.max(100, Math.round(M / 2))
      await raw(W)
      await ants(W)
      const res = await alternate<number>(R, () => raw(M), () => ants(M), (r) => ctx.progress(0.1 + (0.9 * (r + 1)) / R, `round ${r + 1}/${R}`))
      const s = worker.stats()
      ctx.record({
        metric: "submit-to-completion",
        value: median(res.ants),
        baseline: median(res.raw),
        baselineOf: "raw JetStream publish (acked) to a work-queue stream + durable pull consumer + ack, same handler and in-flight publishes",
        unit: "tasks/s",
        better: "higher",
        target: "ratio >= 0.7",
        headline: true,
        params: { tasks: M, rounds: R, inflight: INFLIGHT, workerConcurrency: INFLIGHT, handler: "example.work {ms:0}" },
        note: s.failed || s.deadLettered ? `${s.failed} failed, ${s.deadLettered} dead-lettered` : undefined,
      })
    } finally {
      await messages?.close().catch(() => undefined)
      await worker.stop({ graceMs: 2000 }).catch(() => undefined)
      await workerEngine.stop().catch(() => undefined)
      await engine.stop().catch(() => undefined)
      await workerNc.close()
      await submitNc.close()
    }
  },
}
