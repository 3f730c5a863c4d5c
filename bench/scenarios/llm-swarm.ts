/**
 * llm-swarm: N assistant actors (default 1,000; quick 50; --agents) each run one turn whose
 * model call waits 1 s on a local fake Chat Completions server (test/helpers/fake-openai.ts),
 * all at once, on one node. Completed turns per second against the ideal (N turns in one model
 * latency: N / 1 s), and the heap held per waiting turn (heapUsed while every turn waits on the
 * model, minus before, over N; forced collections when the process has --expose-gc). The turn
 * is the real one: activation, the journal in KV, the router and the openai SDK, the
 * checkpoint before the reply.
 */
import { assistant } from "../../actors/examples/assistant.ts"
import { counter } from "../../actors/examples/counter.ts"
import { startNode } from "../../runtime/node/node.ts"
import { startFakeOpenAI } from "../fakes/fake-openai.ts"
import { waitFor } from "../load.ts"
import { benchLogger } from "../support.ts"
import type { Scenario } from "../types.ts"

const LATENCY_MS = 1000

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) {
    gc()
    gc()
  }
  return process.memoryUsage().heapUsed
}

export const llmSwarmScenario: Scenario = {
  name: "llm-swarm",
  summary: "N assistant turns each waiting 1 s on a fake model: turns/s vs the ideal N/s, heap per waiting turn",
  async run(ctx) {
    const N = ctx.options.agents ?? (ctx.quick ? 50 : 1000)
    const server = await startFakeOpenAI(() => ({ text: "done thinking", usage: { input: 50, output: 5 }, delayMs: LATENCY_MS }))
    const node = await startNode({
      agents: [assistant, counter],
      nats: ctx.natsUrl,
      nodeId: "bench-llm-swarm",
      // the turns' own cost is measured here; the assistant's conversation memory has the recall scenario
      memory: false,
      logger: benchLogger(ctx),
      models: { file: { providers: { fake: { kind: "openai", baseURL: `${server.url}/v1` } }, models: [{ name: "fake-1s", provider: "fake", price: { input: 0.15, output: 0.6 } }] }, env: {} },
    })
    try {
      // warm-up: JIT, the SDK's connection pool, KV buckets
      server.respond(() => ({ text: "warm" }))
      await Promise.all(Array.from({ length: 20 }, (_, i) => node.client.ref(assistant, `warm${i}`).ask("Chat", { text: "hi" }, { timeoutMs: 60_000 })))
      server.respond(() => ({ text: "done thinking", usage: { input: 50, output: 5 }, delayMs: LATENCY_MS }))
      ctx.progress(0.1, `${N} turns`)
      const before = heap()
      const seen0 = server.count()
      const t0 = performance.now()
      let failed = 0
      let firstError: string | undefined
      const turns = Array.from({ length: N }, (_, i) =>
        node.client
          .ref(assistant, `swarm${i}`)
          .ask("Chat", { text: `question ${i}` }, { timeoutMs: 120_000 })
          .catch((e: { code?: string; message?: string }) => {
            failed++
            firstError ??= `${e.code ?? "error"}: ${e.message ?? String(e)}`.slice(0, 200)
          }),
      )
      // every turn is waiting on the model when the fake server holds N requests
      const allWaiting = await waitFor(() => server.count() - seen0 >= N, 60_000, 5)
      const during = heap()
      const waitingAtMs = performance.now() - t0
      await Promise.all(turns)
      const elapsedMs = performance.now() - t0
      const rate = ((N - failed) * 1000) / elapsedMs
      const ideal = (N * 1000) / LATENCY_MS
      const gc = typeof (globalThis as { gc?: unknown }).gc === "function"
      const params = { agents: N, modelLatencyMs: LATENCY_MS, elapsedMs: Math.round(elapsedMs), allWaitingAfterMs: Math.round(waitingAtMs), failed }
      ctx.record({
        metric: "completed turns per second",
        value: rate,
        baseline: ideal,
        baselineOf: `the ideal: ${N} turns in one model latency (${LATENCY_MS} ms)`,
        unit: "turns/s",
        better: "higher",
        target: "ratio >= 0.9",
        headline: true,
        params,
        note: failed ? `${failed} turns failed (first: ${firstError})` : allWaiting ? undefined : "not every turn reached the model within 60 s",
      })
      ctx.record({
        metric: "heap per waiting turn",
        value: Math.max(0, (during - before) / N),
        unit: "bytes",
        better: "lower",
        params,
        note: gc ? undefined : "no --expose-gc: includes uncollected garbage",
      })
    } finally {
      await node.drain()
      await server.close()
    }
  },
}
