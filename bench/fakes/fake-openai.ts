/**
 * A local server that speaks OpenAI Chat Completions (`POST /v1/chat/completions`), plain and
 * streamed (SSE chunks, `[DONE]`, a usage chunk when `stream_options.include_usage`), for
 * tests and benches through the real `openai` SDK: `baseURL: server.url + "/v1"`.
 */
import { pieces, startFakeModelServer, type FakeReply, type FakeServer, type Responder, type Wire } from "./fake-model-server.ts"

const wire: Wire = {
  path: "/v1/chat/completions",
  json(r, req, n) {
    const calls = (r.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `call_${n}_${i}`, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments) } }))
    const u = r.usage ?? { input: 10, output: 5 }
    return {
      id: `chatcmpl-${n}`,
      object: "chat.completion",
      created: 1_700_000_000,
      model: req.body.model,
      choices: [{ index: 0, message: { role: "assistant", content: r.text ?? (calls.length ? null : ""), ...(calls.length ? { tool_calls: calls } : {}) }, finish_reason: calls.length ? "tool_calls" : "stop", logprobs: null }],
      usage: { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output },
    }
  },
  sse(r, req, n) {
    const base = { id: `chatcmpl-${n}`, object: "chat.completion.chunk", created: 1_700_000_000, model: req.body.model }
    const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`
    const out = [ev({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] })]
    for (const p of pieces(r.text ?? "")) out.push(ev({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] }))
    ;(r.toolCalls ?? []).forEach((c, i) => {
      const args = JSON.stringify(c.arguments)
      const half = Math.floor(args.length / 2)
      out.push(ev({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, id: c.id ?? `call_${n}_${i}`, type: "function", function: { name: c.name, arguments: "" } }] }, finish_reason: null }] }))
      out.push(ev({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: args.slice(0, half) } }] }, finish_reason: null }] }))
      out.push(ev({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: args.slice(half) } }] }, finish_reason: null }] }))
    })
    out.push(ev({ ...base, choices: [{ index: 0, delta: {}, finish_reason: r.toolCalls?.length ? "tool_calls" : "stop" }] }))
    if (req.body.stream_options?.include_usage) {
      const u = r.usage ?? { input: 10, output: 5 }
      out.push(ev({ ...base, choices: [], usage: { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output } }))
    }
    out.push("data: [DONE]\n\n")
    return out
  },
  error(status, message) {
    const type = status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error"
    return { error: { message, type, code: status === 400 && /context/.test(message) ? "context_length_exceeded" : null, param: null } }
  },
}

export function startFakeOpenAI(responder: Responder = () => ({ text: "hello from fake openai" })): Promise<FakeServer> {
  return startFakeModelServer(wire, responder)
}

export type { FakeReply, FakeServer, Responder }
