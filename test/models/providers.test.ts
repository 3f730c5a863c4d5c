/**
 * The two SDK providers against local servers that speak each API: plain and streamed
 * answers, tool calls, usage fields, and every failure a provider can show (429 with
 * Retry-After, 529, 500, slow, malformed) surfacing as a classified ProviderError.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { anthropicProvider, openaiProvider, type Provider, type ProviderError, type StreamDelta } from "../../runtime/models/mod.ts"
import { startFakeAnthropic } from "../helpers/fake-anthropic.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import type { FakeServer } from "../../bench/fakes/fake-model-server.ts"

const tools = [{ name: "counter_add", description: "add", parameters: { type: "object", properties: { id: { type: "string" }, n: { type: "number" } }, required: ["id", "n"] } }]

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p
  } catch (e) {
    return e as ProviderError
  }
  throw new Error("expected a failure")
}

const cases: Array<[string, () => Promise<FakeServer>, (url: string) => Provider]> = [
  ["openai", () => startFakeOpenAI(), (url) => openaiProvider({ baseURL: `${url}/v1`, apiKey: "k" })],
  ["anthropic", () => startFakeAnthropic(), (url) => anthropicProvider({ baseURL: url, apiKey: "k" })],
]

describe.each(cases)("%s provider", (name, start, make) => {
  let server: FakeServer
  let provider: Provider
  beforeAll(async () => {
    server = await start()
    provider = make(server.url)
  })
  afterAll(async () => {
    await server.close()
  })

  it(`${name} provider - a plain answer is normalised with its usage`, async () => {
    server.respond(() => ({ text: "four", usage: { input: 21, output: 3 } }))
    const a = await provider.call("m1", { messages: [{ role: "system", content: "be brief" }, { role: "user", content: "2+2?" }] })
    expect(a).toMatchObject({ content: "four", toolCalls: [], finishReason: "stop", usage: { inputTokens: 21, outputTokens: 3 }, model: "m1" })
    const body = server.requests.at(-1)!.body
    if (name === "anthropic") expect(body.system).toBe("be brief")
    else expect(body.messages[0]).toEqual({ role: "system", content: "be brief" })
  })

  it(`${name} provider - tool calls come back parsed, and tool results go back in the API's shape`, async () => {
    server.respond(() => ({ toolCalls: [{ id: "c1", name: "counter_add", arguments: { id: "c7", n: 2 } }] }))
    const a = await provider.call("m1", { messages: [{ role: "user", content: "add 2 to c7" }], tools })
    expect(a.finishReason).toBe("tool_calls")
    expect(a.toolCalls).toEqual([{ id: "c1", name: "counter_add", arguments: { id: "c7", n: 2 } }])
    server.respond(() => ({ text: "done" }))
    await provider.call("m1", {
      messages: [
        { role: "user", content: "add 2 to c7" },
        { role: "assistant", content: "", toolCalls: a.toolCalls },
        { role: "tool", toolCallId: "c1", name: "counter_add", content: '{"total":2}' },
      ],
      tools,
    })
    const sent = JSON.stringify(server.requests.at(-1)!.body)
    expect(sent).toContain(name === "anthropic" ? '"tool_use_id":"c1"' : '"tool_call_id":"c1"')
  })

  it(`${name} provider - a streamed answer delivers deltas and the same normalised answer`, async () => {
    server.respond(() => ({ text: "one two three", toolCalls: [{ id: "c9", name: "counter_add", arguments: { id: "x", n: 1 } }], usage: { input: 8, output: 6 } }))
    const deltas: StreamDelta[] = []
    const a = await provider.call("m1", { messages: [{ role: "user", content: "count" }], tools }, { onDelta: (d) => deltas.push(d) })
    expect(server.requests.at(-1)!.stream).toBe(true)
    expect(a.content).toBe("one two three")
    expect(a.toolCalls).toEqual([{ id: "c9", name: "counter_add", arguments: { id: "x", n: 1 } }])
    expect(a.usage).toEqual({ inputTokens: 8, outputTokens: 6 })
    expect(deltas.filter((d) => d.type === "text").map((d) => (d as { text: string }).text).join("")).toBe("one two three")
    expect(deltas.some((d) => d.type === "tool_call")).toBe(true)
  })

  it(`${name} provider - a 429 is rate_limited with its Retry-After, and the SDK does not retry it`, async () => {
    server.respond(() => ({ status: 429, retryAfter: "7" }))
    const before = server.count()
    const e = await failure(provider.call("m1", { messages: [{ role: "user", content: "hi" }] }))
    expect(e._tag).toBe("ProviderError")
    expect(e.kind).toBe("rate_limited")
    expect(e.retryAfterMs).toBe(7000)
    expect(server.count() - before).toBe(1)
  })

  it(`${name} provider - 529 is overloaded and 500 is a server error`, async () => {
    server.respond(() => ({ status: 529 }))
    expect((await failure(provider.call("m1", { messages: [{ role: "user", content: "hi" }] }))).kind).toBe("overloaded")
    server.respond(() => ({ status: 500 }))
    expect((await failure(provider.call("m1", { messages: [{ role: "user", content: "hi" }] }))).kind).toBe("server")
  })

  it(`${name} provider - a slow answer past the timeout is a timeout`, async () => {
    server.respond(() => ({ text: "late", delayMs: 1500 }))
    const e = await failure(provider.call("m1", { messages: [{ role: "user", content: "hi" }] }, { timeoutMs: 200 }))
    expect(e.kind).toBe("timeout")
  })

  it(`${name} provider - a malformed answer is a malformed error, plain or streamed`, async () => {
    server.respond(() => ({ raw: '{"unexpected": true}' }))
    expect((await failure(provider.call("m1", { messages: [{ role: "user", content: "hi" }] }))).kind).toBe("malformed")
    server.respond(() => ({ raw: "this is not json at all" }))
    expect((await failure(provider.call("m1", { messages: [{ role: "user", content: "hi" }] }))).kind).toBe("malformed")
    server.respond(() => ({ raw: 'data: {"nonsense": 1}\n\n' }))
    expect((await failure(provider.call("m1", { messages: [{ role: "user", content: "hi" }] }, { onDelta: () => undefined }))).kind).toBe("malformed")
  })

  it(`${name} provider - a context overflow is classified as context`, async () => {
    server.respond(() => ({ status: 400, text: name === "anthropic" ? "prompt is too long: 300000 tokens > 200000 maximum" : "This model's maximum context length is 8192 tokens" }))
    expect((await failure(provider.call("m1", { messages: [{ role: "user", content: "hi" }] }))).kind).toBe("context")
  })
})
