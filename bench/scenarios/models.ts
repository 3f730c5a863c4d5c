/**
 * models: a model call through the ANTS models layer (an actor's `ModelClient`: budget hold,
 * router ranking, the provider through the real `openai` SDK, normalisation, cost recording)
 * against the same `openai` SDK called directly, both against one local fake Chat Completions
 * server in this process (test/helpers/fake-openai.ts), which answers at once. Closed loop at
 * concurrency 1 and 16, plain and streamed; rounds alternate raw and ANTS; medians over rounds.
 * What is left between the two is what the layer adds per call, next to an HTTP round trip.
 * Also the process's CPU time per call on each side (the fake server's share is the same on
 * both): on shared, loaded machines it moves less than wall-clock figures do.
 */
import OpenAI from "openai"
import { createModels } from "../../runtime/models/mod.ts"
import { startFakeOpenAI } from "../fakes/fake-openai.ts"
import { alternate, closedLoop, payloadText, type LoopResult } from "../load.ts"
import { median, percentile } from "../stats.ts"
import { duration, rounds } from "../support.ts"
import { recordVsRaw } from "../compare.ts"
import type { Scenario } from "../types.ts"

/** A closed loop with the process's CPU time per completed call. */
async function withCpu(run: () => Promise<LoopResult>): Promise<LoopResult & { cpuMsPerCall: number }> {
  const c0 = process.cpuUsage()
  const r = await run()
  const c = process.cpuUsage(c0)
  return { ...r, cpuMsPerCall: (c.user + c.system) / 1000 / Math.max(1, r.ops) }
}

const BASELINE = "the openai SDK (maxRetries 0) calling chat.completions.create directly against the same local fake server, same concurrency"

export const modelsScenario: Scenario = {
  name: "models",
  summary: "a model call through router + SDK vs the openai SDK called directly, same local fake server: p50 and throughput",
  async run(ctx) {
    const text = payloadText(ctx.options.payload)
    const server = await startFakeOpenAI(() => ({ text: "a short answer from the fake model", usage: { input: 12, output: 7 } }))
    try {
      const baseURL = `${server.url}/v1`
      const sdk = new OpenAI({ apiKey: "bench", baseURL, maxRetries: 0 })
      const models = createModels({
        file: { providers: { fake: { kind: "openai", baseURL } }, models: [{ name: "bench-model", provider: "fake", price: { input: 0.15, output: 0.6 } }] },
        env: {},
      })
      const client = models.client({ tenant: "bench", type: "bench_model", id: "m" }, async () => null)
      const messages = [{ role: "user" as const, content: text }]
      const raw = async () => {
        const r = await sdk.chat.completions.create({ model: "bench-model", messages, max_tokens: 1024 })
        return r.choices[0].message.content
      }
      const rawStream = async () => {
        const s = await sdk.chat.completions.create({ model: "bench-model", messages, max_tokens: 1024, stream: true, stream_options: { include_usage: true } })
        let out = ""
        for await (const c of s) out += c.choices[0]?.delta?.content ?? ""
        return out
      }
      const ants = async () => (await client.chat(messages)).content
      const antsStream = async () => (await client.chat(messages, { onDelta: () => undefined })).content

      ctx.progress(0.02, "warm-up")
      await closedLoop(16, { durationMs: 300 }, raw)
      await closedLoop(16, { durationMs: 300 }, ants)

      const R = rounds(ctx)
      const D = duration(ctx)
      const cases: Array<{ c: number; stream: boolean; headline: boolean }> = [
        { c: 1, stream: false, headline: true },
        { c: 16, stream: false, headline: true },
        { c: 16, stream: true, headline: false },
      ]
      for (let k = 0; k < cases.length; k++) {
        const { c, stream, headline } = cases[k]
        const res = await alternate(
          R,
          () => withCpu(() => closedLoop(c, { durationMs: D }, stream ? rawStream : raw)),
          () => withCpu(() => closedLoop(c, { durationMs: D }, stream ? antsStream : ants)),
          (r) => ctx.progress((k + (r + 1) / R) / cases.length, `${stream ? "streamed " : ""}c=${c}, round ${r + 1}/${R}`),
        )
        const tag = `${stream ? "streamed " : ""}c=${c}`
        const params = { concurrency: c, stream, rounds: R, durationMs: D, payload: ctx.options.payload }
        const errors = res.ants.reduce((s, x) => s + x.errors, 0) + res.raw.reduce((s, x) => s + x.errors, 0)
        const note = errors ? `${errors} calls failed` : undefined
        recordVsRaw(ctx, res, (x) => x.throughput, {
          metric: `throughput ${tag}`,
          baselineOf: BASELINE,
          unit: "calls/s",
          better: "higher",
          target: "ratio >= 0.95",
          headline,
          params,
          note,
        })
        recordVsRaw(ctx, res, (x) => percentile(x.latencies, 0.5), {
          metric: `p50 ${tag}`,
          baselineOf: BASELINE,
          unit: "ms",
          better: "lower",
          target: "ratio <= 1.05",
          headline,
          params,
        })
        ctx.record({
          metric: `CPU per call ${tag}`,
          value: median(res.ants.map((x) => x.cpuMsPerCall)),
          baseline: median(res.raw.map((x) => x.cpuMsPerCall)),
          baselineOf: `${BASELINE}; this process's CPU time (the fake server's included on both sides)`,
          unit: "ms",
          better: "lower",
          params,
        })
      }
      models.close()
    } finally {
      await server.close()
    }
  },
}
