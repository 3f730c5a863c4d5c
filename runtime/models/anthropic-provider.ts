/**
 * Messages with tool use through the real `@anthropic-ai/sdk`. SDK retries are off
 * (`maxRetries: 0`): the router is the only retry loop. System messages become the `system`
 * parameter; tool results become `tool_result` blocks of a user message; consecutive messages
 * of one role are merged, since the API wants user and assistant to alternate.
 */
import type Anthropic from "@anthropic-ai/sdk"
import { httpFetch } from "./http-fetch.ts"
import { finishReasons, sdkProvider, malformed, parseArguments, reqOptions, tokenUsage } from "./sdk-errors.ts"
import type { ChatMessage, ModelRequest, Provider, ProviderAnswer, ProviderCallOptions, ToolCall } from "./types.ts"

export interface AnthropicProviderOptions {
  readonly name?: string
  readonly apiKey?: string
  readonly baseURL?: string
  /** Default per-call timeout, ms (default 60 000). */
  readonly timeoutMs?: number
  /** The fetch the SDK uses (default: httpFetch, node:http with keep-alive; see http-fetch.ts). */
  readonly fetch?: typeof fetch
}

type Block = Anthropic.Messages.ContentBlockParam
type WireMessage = { role: "user" | "assistant"; content: Block[] }

function toWire(messages: ReadonlyArray<ChatMessage>, req: ModelRequest): { system: string | undefined; messages: WireMessage[] } {
  const system: string[] = []
  const out: WireMessage[] = []
  const push = (role: "user" | "assistant", blocks: Block[]) => {
    if (blocks.length === 0) return
    const last = out[out.length - 1]
    if (last && last.role === role) last.content.push(...blocks)
    else out.push({ role, content: blocks })
  }
  for (const m of messages) {
    switch (m.role) {
      case "system":
        system.push(m.content)
        break
      case "user":
        push("user", [{ type: "text", text: m.content }])
        break
      case "assistant": {
        const blocks: Block[] = m.content !== "" ? [{ type: "text", text: m.content }] : []
        for (const c of m.toolCalls ?? []) blocks.push({ type: "tool_use", id: c.id, name: c.name, input: (typeof c.arguments === "object" && c.arguments !== null ? c.arguments : {}) as Record<string, unknown> })
        push("assistant", blocks)
        break
      }
      case "tool":
        push("user", [{ type: "tool_result", tool_use_id: m.toolCallId, content: m.content }])
        break
    }
  }
  if (req.jsonSchema) system.push(`Answer with one JSON value only, no prose, that fits this JSON Schema: ${JSON.stringify(req.jsonSchema.schema)}`)
  return { system: system.length > 0 ? system.join("\n\n") : undefined, messages: out }
}

/** The SDK's stop reasons, as ANTS names them (anything else is "other"). */
const finish = finishReasons({ end_turn: "stop", stop_sequence: "stop", tool_use: "tool_calls", max_tokens: "length", refusal: "content_filter" })

function params(model: string, req: ModelRequest): Anthropic.Messages.MessageCreateParamsNonStreaming {
  const w = toWire(req.messages, req)
  const p: Anthropic.Messages.MessageCreateParamsNonStreaming = { model, max_tokens: req.maxTokens ?? 1024, messages: w.messages }
  if (w.system !== undefined) p.system = w.system
  // No temperature: this SDK version's Messages parameters no longer take one.
  if (req.tools && req.tools.length > 0) {
    p.tools = req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters as Anthropic.Messages.Tool.InputSchema }))
  }
  return p
}

function usageOf(u: unknown): { inputTokens: number; outputTokens: number } {
  return tokenUsage(u, "input_tokens", "output_tokens")
}

export function anthropicProvider(options: AnthropicProviderOptions = {}): Provider {
  const name = options.name ?? "anthropic"
  // the SDK is loaded at the first call: a node on other providers (or the offline one) never loads it
  let sdk: Promise<Anthropic> | undefined
  // the client once made: later calls take it without awaiting the import's promise again
  let made: Anthropic | undefined
  const sdkClient = () =>
    (sdk ??= import("@anthropic-ai/sdk").then(
      (m) => (made = new m.default({ apiKey: options.apiKey ?? "none", baseURL: options.baseURL ?? null, maxRetries: 0, timeout: options.timeoutMs ?? 60_000, fetch: options.fetch ?? httpFetch })),
    ))

  async function plain(model: string, req: ModelRequest, o: ProviderCallOptions): Promise<ProviderAnswer> {
    const client = made ?? (await sdkClient())
    const res = (await client.messages.create(params(model, req), reqOptions(o))) as unknown
    const r = res as { content?: unknown; stop_reason?: unknown; usage?: unknown; model?: unknown }
    if (r === null || typeof r !== "object" || !Array.isArray(r.content)) throw malformed(name, "no content blocks")
    let content = ""
    const calls: ToolCall[] = []
    for (const b of r.content as Array<{ type?: unknown; text?: unknown; id?: unknown; name?: unknown; input?: unknown }>) {
      if (b?.type === "text") {
        if (typeof b.text !== "string") throw malformed(name, "a text block without text")
        content += b.text
      } else if (b?.type === "tool_use") {
        if (typeof b.id !== "string" || typeof b.name !== "string") throw malformed(name, "a tool_use block without id or name")
        calls.push({ id: b.id, name: b.name, arguments: b.input ?? {} })
      }
    }
    if (r.stop_reason === undefined) throw malformed(name, "no stop_reason")
    return { content, toolCalls: calls, finishReason: finish(r.stop_reason), usage: usageOf(r.usage), model: String(r.model ?? model) }
  }

  async function streamed(model: string, req: ModelRequest, o: ProviderCallOptions): Promise<ProviderAnswer> {
    const onDelta = o.onDelta!
    const client = made ?? (await sdkClient())
    const stream = await client.messages.create({ ...params(model, req), stream: true }, reqOptions(o))
    let content = ""
    let reason: unknown
    let inputTokens = 0
    let outputTokens = 0
    let answered = model
    let stopped = false
    const blocks: Array<{ kind: "text" | "tool"; id: string; name: string; args: string; toolIndex: number }> = []
    let tools = 0
    for await (const ev of stream as AsyncIterable<unknown>) {
      const e = ev as { type?: string; index?: number; message?: { model?: string; usage?: unknown }; content_block?: { type?: string; id?: string; name?: string }; delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: unknown }; usage?: unknown }
      if (e === null || typeof e !== "object" || typeof e.type !== "string") throw malformed(name, "a stream event without a type")
      switch (e.type) {
        case "message_start":
          if (e.message?.model) answered = e.message.model
          inputTokens = usageOf(e.message?.usage).inputTokens
          outputTokens = usageOf(e.message?.usage).outputTokens
          break
        case "content_block_start": {
          const cb = e.content_block
          if (typeof e.index !== "number" || !cb) throw malformed(name, "content_block_start without index or block")
          if (cb.type === "tool_use") {
            if (!cb.id || !cb.name) throw malformed(name, "a streamed tool_use without id or name")
            blocks[e.index] = { kind: "tool", id: cb.id, name: cb.name, args: "", toolIndex: tools++ }
            onDelta({ type: "tool_call", index: blocks[e.index].toolIndex, id: cb.id, name: cb.name, argumentsDelta: "" })
          } else blocks[e.index] = { kind: "text", id: "", name: "", args: "", toolIndex: -1 }
          break
        }
        case "content_block_delta": {
          const b = typeof e.index === "number" ? blocks[e.index] : undefined
          if (!b || !e.delta) throw malformed(name, "a delta for a block that never started")
          if (e.delta.type === "text_delta" && typeof e.delta.text === "string") {
            content += e.delta.text
            onDelta({ type: "text", text: e.delta.text })
          } else if (e.delta.type === "input_json_delta" && typeof e.delta.partial_json === "string") {
            b.args += e.delta.partial_json
            onDelta({ type: "tool_call", index: b.toolIndex, argumentsDelta: e.delta.partial_json })
          }
          break
        }
        case "message_delta":
          if (e.delta?.stop_reason) reason = e.delta.stop_reason
          if (e.usage) {
            const u = e.usage as { output_tokens?: unknown; input_tokens?: unknown }
            if (u.output_tokens != null) outputTokens = Number(u.output_tokens) || 0
            if (u.input_tokens != null) inputTokens = Number(u.input_tokens) || inputTokens
          }
          break
        case "message_stop":
          stopped = true
          break
      }
    }
    if (!stopped && reason === undefined) throw malformed(name, "the stream ended before message_stop")
    const toolCalls = blocks.filter((b) => b && b.kind === "tool").map((b) => ({ id: b.id, name: b.name, arguments: parseArguments(b.args) }))
    return { content, toolCalls, finishReason: finish(reason), usage: { inputTokens, outputTokens }, model: answered }
  }

  return sdkProvider(name, "anthropic", plain, streamed)
}
