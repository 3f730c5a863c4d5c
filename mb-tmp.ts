import { createModels, type Provider } from "./runtime/models/mod.ts"
const instant: Provider = { name: "instant", kind: "openai", offline: false, call: async (model) => ({ content: "ok", toolCalls: [], finishReason: "stop", usage: { inputTokens: 12, outputTokens: 7 }, model }) }
const models = createModels({ file: { providers: { instant: { kind: "openai" } }, models: [{ name: "m", provider: "instant", price: { input: 1, output: 1 } }, { name: "m2", provider: "instant", price: { input: 2, output: 1 } }] }, providers: [instant], env: {} })
const client = models.client({ tenant: "b", type: "t", id: "m" }, async () => null)
const messages = [{ role: "user" as const, content: "x".repeat(64) }]
for (let r = 0; r < 4; r++) {
  const N = 20000
  let t0 = performance.now()
  for (let i = 0; i < N; i++) await instant.call("m", { messages })
  const d = (performance.now() - t0) / N
  t0 = performance.now()
  for (let i = 0; i < N; i++) models.router.rank({ messages })
  const a = (performance.now() - t0) / N
  t0 = performance.now()
  for (let i = 0; i < N; i++) await models.router.call({ messages })
  const b = (performance.now() - t0) / N
  t0 = performance.now()
  for (let i = 0; i < N; i++) await client.chat(messages)
  const c = (performance.now() - t0) / N
  console.log(`direct ${(d * 1000).toFixed(2)} rank ${(a * 1000).toFixed(2)} µs, router.call ${(b * 1000).toFixed(2)} µs client.chat ${(c * 1000).toFixed(2)}`)
}
