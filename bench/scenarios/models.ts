/**
 * models: a model call through the ANTS models layer (an actor's `ModelClient`: budget hold,
 * router ranking, the provider through the real `openai` SDK, normalisation, cost recording)
 * against the same `openai` SDK called directly, both against one local fake Chat Completions
 * server in this process (bench/fakes/fake-openai.ts), which answers at once. Closed loop at
 * concurrency 1 and 16, plain and streamed; rounds alternate raw and ANTS; medians over rounds.
 *
 * The headline baseline is the SDK given the same fetch the ANTS providers give it (httpFetch,
 * node:http with keep-alive): what is left between the two is what the layer adds per call,
 * next to an HTTP round trip. A second comparison, at concurrency 16, is against the SDK with
 * its default fetch (Node's built-in, undici), as a user calling it directly would have it.
 * Also the process's CPU time per call on each side (the fake server's share is the same on
 * both): on shared, loaded machines it moves less than wall-clock figures do.
 */
import OpenAI from "openai"
import { createModels } from "../../runtime/models/mod.ts"
import { httpFetch } from "../../runtime/models/http-fetch.ts"
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

const BASELINE = "the openai SDK (maxRetries 0, the same fetch as the ANTS providers: httpFetch) calling chat.completions.create directly against the same local fake server, same concurrency"
const DEFAULT_FETCH_BASELINE = "the openai SDK (maxRetries 0) with its default fetch (Node's built-in) calling chat.completions.create directly against the same local fake server, same concurrency"

export const modelsScenario: Scenario = {
  name: "models",
  summary: "a model call through router + SDK vs the openai SDK called directly, same local fake server: p50 and throughput",
  async run(ctx) {
    const text = payloadText(ctx.options.payload)
    const server = await startFakeOpenAI(() => ({ text: "a short answer from the fake model", usage: { input: 12, output: 7 } }))
    try {
      const baseURL = `${server.url}/v1`
      const sdk = new OpenAI({ apiKey: "bench", baseURL, maxRetries: 0, fetch: httpFetch })
      const sdkDefault = new OpenAI({ apiKey: "bench", baseURL, maxRetries: 0 })
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
      const rawDefault = async () => {
        const r = await sdkDefault.chat.completions.create({ model: "bench-model", messages, max_tokens: 1024 })
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
      const cases: Array<{ c: number; stream: boolean; headline: boolean; defaultFetch?: boolean }> = [
        { c: 1, stream: false, headline: true },
        { c: 16, stream: false, headline: true },
        { c: 16, stream: true, headline: false },
        { c: 16, stream: false, headline: false, defaultFetch: true },
      ]
      for (let k = 0; k < cases.length; k++) {
        const { c, stream, headline, defaultFetch } = cases[k]
        const res = await alternate(
          R,
          () => withCpu(() => closedLoop(c, { durationMs: D }, stream ? rawStream : defaultFetch ? rawDefault : raw)),
          () => withCpu(() => closedLoop(c, { durationMs: D }, stream ? antsStream : ants)),
          (r) => ctx.progress((k + (r + 1) / R) / cases.length, `${stream ? "streamed " : ""}c=${c}${defaultFetch ? " vs default fetch" : ""}, round ${r + 1}/${R}`),
        )
        const tag = `${stream ? "streamed " : ""}c=${c}${defaultFetch ? " vs the SDK's default fetch" : ""}`
        const BASELINE_OF = defaultFetch ? DEFAULT_FETCH_BASELINE : BASELINE
        const params = { concurrency: c, stream, rounds: R, durationMs: D, payload: ctx.options.payload }
        const errors = res.ants.reduce((s, x) => s + x.errors, 0) + res.raw.reduce((s, x) => s + x.errors, 0)
        const note = errors ? `${errors} calls failed` : undefined
        recordVsRaw(ctx, res, (x) => x.throughput, {
          metric: `throughput ${tag}`,
          baselineOf: BASELINE_OF,
          unit: "calls/s",
          better: "higher",
          target: "ratio >= 0.95",
          headline,
          params,
          note,
        })
        recordVsRaw(ctx, res, (x) => percentile(x.latencies, 0.5), {
          metric: `p50 ${tag}`,
          baselineOf: BASELINE_OF,
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
          baselineOf: `${BASELINE_OF}; this process's CPU time (the fake server's included on both sides)`,
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
