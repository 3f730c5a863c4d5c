/**
 * A local server that speaks the Anthropic Messages API (`POST /v1/messages`), plain and
 * streamed (SSE events message_start … message_stop), including tool use and error bodies
 * (`overloaded_error` on 529), for tests and benches through the real `@anthropic-ai/sdk`:
 * `baseURL: server.url`.
 */
import { pieces, startFakeModelServer, type FakeReply, type FakeServer, type Responder, type Wire } from "../../bench/fakes/fake-model-server.ts"

function blocks(r: FakeReply, n: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  if (r.text !== undefined && r.text !== "") out.push({ type: "text", text: r.text })
  ;(r.toolCalls ?? []).forEach((c, i) => out.push({ type: "tool_use", id: c.id ?? `toolu_${n}_${i}`, name: c.name, input: c.arguments }))
  return out
}

const wire: Wire = {
  path: "/v1/messages",
  json(r, req, n) {
    const u = r.usage ?? { input: 10, output: 5 }
    return {
      id: `msg_${n}`,
      type: "message",
      role: "assistant",
      model: req.body.model,
      content: blocks(r, n),
      stop_reason: r.toolCalls?.length ? "tool_use" : "end_turn",
      stop_sequence: null,
      usage: { input_tokens: u.input, output_tokens: u.output },
    }
  },
  sse(r, req, n) {
    const u = r.usage ?? { input: 10, output: 5 }
    const ev = (type: string, o: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...o })}\n\n`
    const out = [ev("message_start", { message: { id: `msg_${n}`, type: "message", role: "assistant", model: req.body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: u.input, output_tokens: 1 } } })]
    let index = 0
    if (r.text) {
      out.push(ev("content_block_start", { index, content_block: { type: "text", text: "" } }))
      for (const p of pieces(r.text)) out.push(ev("content_block_delta", { index, delta: { type: "text_delta", text: p } }))
      out.push(ev("content_block_stop", { index }))
      index++
    }
    ;(r.toolCalls ?? []).forEach((c, i) => {
      const args = JSON.stringify(c.arguments)
      const half = Math.floor(args.length / 2)
      out.push(ev("content_block_start", { index, content_block: { type: "tool_use", id: c.id ?? `toolu_${n}_${i}`, name: c.name, input: {} } }))
      out.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: args.slice(0, half) } }))
      out.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: args.slice(half) } }))
      out.push(ev("content_block_stop", { index }))
      index++
    })
    out.push(ev("message_delta", { delta: { stop_reason: r.toolCalls?.length ? "tool_use" : "end_turn", stop_sequence: null }, usage: { output_tokens: u.output } }))
    out.push(ev("message_stop", {}))
    return out
  },
  error(status, message) {
    const type = status === 429 ? "rate_limit_error" : status === 529 ? "overloaded_error" : status >= 500 ? "api_error" : "invalid_request_error"
    return { type: "error", error: { type, message } }
  },
}

export function startFakeAnthropic(responder: Responder = () => ({ text: "hello from fake anthropic" })): Promise<FakeServer> {
  return startFakeModelServer(wire, responder)
}

export type { FakeReply, FakeServer, Responder }
