/**
 * Chat Completions through the real `openai` SDK: OpenAI itself, or any server that speaks the
 * same API (Ollama, vLLM, llama.cpp, LiteLLM...) through a base URL. SDK retries are off
 * (`maxRetries: 0`): the router is the only retry loop, so a 429 is seen once and answered by
 * a cooldown and another deployment, not by the SDK sleeping inside a turn.
 */
import type OpenAI from "openai"
import { httpFetch } from "./http-fetch.ts"
import { finishReasons, sdkProvider, malformed, parseArguments, reqOptions, tokenUsage } from "./sdk-errors.ts"
import type { ChatMessage, ModelRequest, Provider, ProviderAnswer, ProviderCallOptions, ToolCall, ToolSpec } from "./types.ts"

export interface OpenAIProviderOptions {
  readonly name?: string
  readonly apiKey?: string
  readonly baseURL?: string
  /** Default per-call timeout, ms (default 60 000). */
  readonly timeoutMs?: number
  /** The fetch the SDK uses (default: httpFetch, node:http with keep-alive; see http-fetch.ts). */
  readonly fetch?: typeof fetch
}

function toWire(m: ChatMessage): OpenAI.Chat.ChatCompletionMessageParam {
  switch (m.role) {
    case "system":
    case "user":
      return { role: m.role, content: m.content }
    case "assistant":
      return m.toolCalls && m.toolCalls.length > 0
        ? {
            role: "assistant",
            content: m.content === "" ? null : m.content,
            tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments) } })),
          }
        : { role: "assistant", content: m.content }
    case "tool":
      return { role: "tool", tool_call_id: m.toolCallId, content: m.content }
  }
}

/** The SDK's finish reasons, as ANTS names them (anything else is "other"). */
const finish = finishReasons({ stop: "stop", tool_calls: "tool_calls", function_call: "tool_calls", length: "length", content_filter: "content_filter" })

/** The wire form of a tool list, made once per list (a turn hands the same list at every step). */
const wireTools = new WeakMap<ReadonlyArray<ToolSpec>, OpenAI.Chat.ChatCompletionTool[]>()
function toolsOf(tools: ReadonlyArray<ToolSpec>): OpenAI.Chat.ChatCompletionTool[] {
  let w = wireTools.get(tools)
  if (w === undefined) wireTools.set(tools, (w = tools.map((t) => ({ type: "function" as const, function: { name: t.name, description: t.description, parameters: t.parameters as Record<string, unknown> } }))))
  return w
}

function body(model: string, req: ModelRequest): OpenAI.Chat.ChatCompletionCreateParamsNonStreaming {
  const b: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
    model,
    messages: req.messages.map(toWire),
    max_tokens: req.maxTokens ?? 1024,
  }
  if (req.temperature !== undefined) b.temperature = req.temperature
  if (req.tools && req.tools.length > 0) {
    b.tools = toolsOf(req.tools)
  }
  if (req.jsonSchema) b.response_format = { type: "json_schema", json_schema: { name: req.jsonSchema.name, schema: req.jsonSchema.schema as Record<string, unknown> } }
  return b
}

function usageOf(u: unknown): { inputTokens: number; outputTokens: number } {
  return tokenUsage(u, "prompt_tokens", "completion_tokens")
}

export function openaiProvider(options: OpenAIProviderOptions = {}): Provider {
  const name = options.name ?? "openai"
  // the SDK is loaded at the first call: a node on other providers (or the offline one) never loads it
  let sdk: Promise<OpenAI> | undefined
  // the client once made: later calls take it without awaiting the import's promise again
  let made: OpenAI | undefined
  const sdkClient = () =>
    (sdk ??= import("openai").then(
      (m) =>
        (made = new m.default({
          // A local OpenAI-compatible server usually wants no key; the SDK insists on one.
          apiKey: options.apiKey ?? "none",
          baseURL: options.baseURL ?? null,
          maxRetries: 0,
          timeout: options.timeoutMs ?? 60_000,
          fetch: options.fetch ?? httpFetch,
        })),
    ))

  async function plain(model: string, req: ModelRequest, o: ProviderCallOptions): Promise<ProviderAnswer> {
    const client = made ?? (await sdkClient())
    const res = (await client.chat.completions.create(body(model, req), reqOptions(o))) as unknown
    const r = res as { choices?: unknown; model?: unknown; usage?: unknown }
    if (r === null || typeof r !== "object" || !Array.isArray(r.choices) || r.choices.length === 0) throw malformed(name, "no choices")
    const choice = r.choices[0] as { message?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }
    const msg = choice?.message
    if (msg === null || typeof msg !== "object") throw malformed(name, "a choice without a message")
    if (msg.content != null && typeof msg.content !== "string") throw malformed(name, "message content is not text")
    const calls: ToolCall[] = []
    if (msg.tool_calls != null) {
      if (!Array.isArray(msg.tool_calls)) throw malformed(name, "tool_calls is not a list")
      for (const c of msg.tool_calls as Array<{ id?: unknown; function?: { name?: unknown; arguments?: unknown } }>) {
        if (typeof c?.id !== "string" || typeof c.function?.name !== "string") throw malformed(name, "a tool call without id or name")
        calls.push({ id: c.id, name: c.function.name, arguments: parseArguments(String(c.function.arguments ?? "")) })
      }
    }
    return { content: (msg.content as string | null) ?? "", toolCalls: calls, finishReason: finish(choice.finish_reason), usage: usageOf(r.usage), model: String(r.model ?? model) }
  }

  async function streamed(model: string, req: ModelRequest, o: ProviderCallOptions): Promise<ProviderAnswer> {
    const onDelta = o.onDelta!
    const client = made ?? (await sdkClient())
    const stream = await client.chat.completions.create({ ...body(model, req), stream: true, stream_options: { include_usage: true } }, reqOptions(o))
    let content = ""
    let reason: unknown
    let usage = { inputTokens: 0, outputTokens: 0 }
    let answered = model
    const calls: Array<{ id: string; name: string; args: string }> = []
    for await (const chunk of stream as AsyncIterable<unknown>) {
      const c = chunk as { choices?: unknown; usage?: unknown; model?: unknown }
      if (c === null || typeof c !== "object" || !Array.isArray(c.choices)) throw malformed(name, "a stream chunk without choices")
      if (typeof c.model === "string") answered = c.model
      if (c.usage) usage = usageOf(c.usage)
      const ch = c.choices[0] as { delta?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown } | undefined
      if (!ch) continue
      if (ch.finish_reason) reason = ch.finish_reason
      const d = ch.delta
      if (!d) continue
      if (typeof d.content === "string" && d.content !== "") {
        content += d.content
        onDelta({ type: "text", text: d.content })
      }
      if (Array.isArray(d.tool_calls)) {
        for (const t of d.tool_calls as Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>) {
          const i = typeof t.index === "number" ? t.index : calls.length
          const slot = (calls[i] ??= { id: "", name: "", args: "" })
          if (t.id) slot.id = t.id
          if (t.function?.name) slot.name += t.function.name
          if (t.function?.arguments) slot.args += t.function.arguments
          onDelta({ type: "tool_call", index: i, id: t.id, name: t.function?.name, argumentsDelta: t.function?.arguments ?? "" })
        }
      }
    }
    if (reason === undefined && content === "" && calls.length === 0) throw malformed(name, "the stream ended without an answer")
    const toolCalls = calls.filter(Boolean).map((c) => {
      if (!c.id || !c.name) throw malformed(name, "a streamed tool call without id or name")
      return { id: c.id, name: c.name, arguments: parseArguments(c.args) }
    })
    return { content, toolCalls, finishReason: finish(reason), usage, model: answered }
  }

  return sdkProvider(name, "openai", plain, streamed)
}
