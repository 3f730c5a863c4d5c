/**
 * The offline provider: what answers when no model provider is configured, so the Quick start,
 * the demo and the tests of agent turns need no key and no network. It is deterministic (the
 * same messages give the same answer, token for token) and it can call tools:
 *
 * - when the last message is the user's and the text names a tool (`counter_add`), it calls
 *   that tool with the arguments it can read from the text for the tool's declared parameters
 *   (`id=c7`, `n: 5`, `"n": 5`); a tool whose required arguments it cannot find is not called;
 * - when the last messages are tool results, it answers with them ("counter_add returned
 *   {"total":5}");
 * - otherwise it answers `offline model: <the user's text>`.
 *
 * It is no language model and never pretends to be one: every answer routed through it is
 * marked `offline: true`, and the router announces it at start-up.
 */
import type { ChatMessage, ModelRequest, Provider, ProviderAnswer, StreamDelta, ToolCall, ToolSpec } from "./types.ts"

/** A rough token count (about four characters a token), used for offline usage figures. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4)
}

function argumentFor(text: string, name: string, schema: Record<string, unknown> | undefined): unknown {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  const m = new RegExp(`["']?\\b${esc}["']?\\s*[:=]\\s*("([^"]*)"|'([^']*)'|[^\\s,;)}?!"']+)`).exec(text)
  if (!m) return undefined
  // an unquoted value ends before closing punctuation ("… id=c7." or "… n=5?")
  const raw = m[2] ?? m[3] ?? m[1].replace(/[.:]+$/, "")
  const type = schema?.type
  if (type === "number" || type === "integer") {
    const n = Number(raw)
    return Number.isFinite(n) ? n : undefined
  }
  if (type === "boolean") return raw === "true" ? true : raw === "false" ? false : undefined
  return raw
}

function callsFor(text: string, tools: ReadonlyArray<ToolSpec>, seed: number): ToolCall[] {
  const found = tools
    .map((t) => ({ t, at: new RegExp(`\\b${t.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).exec(text)?.index ?? -1 }))
    .filter((x) => x.at >= 0)
    .sort((a, b) => a.at - b.at)
  const calls: ToolCall[] = []
  for (const { t, at } of found) {
    // Arguments are read from the text after the tool's name, up to the next tool's name.
    const next = found.find((x) => x.at > at)?.at ?? text.length
    const segment = text.slice(at + t.name.length, next)
    const props = (t.parameters.properties ?? {}) as Record<string, Record<string, unknown>>
    const required = (t.parameters.required ?? []) as string[]
    const args: Record<string, unknown> = {}
    for (const key of Object.keys(props)) {
      const v = argumentFor(segment, key, props[key])
      if (v !== undefined) args[key] = v
    }
    if (required.every((k) => k in args)) calls.push({ id: `call_${seed.toString(36)}_${calls.length}`, name: t.name, arguments: args })
  }
  return calls
}

function hash(s: string): number {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0
  return h
}

/** The deterministic answer to a request. */
export function offlineAnswer(req: ModelRequest): { content: string; toolCalls: ToolCall[] } {
  const msgs = req.messages
  const last = msgs[msgs.length - 1]
  if (last?.role === "tool") {
    const results: string[] = []
    for (let i = msgs.length - 1; i >= 0 && msgs[i].role === "tool"; i--) {
      const m = msgs[i] as Extract<ChatMessage, { role: "tool" }>
      results.unshift(`${m.name} returned ${m.content}`)
    }
    return { content: results.join("; "), toolCalls: [] }
  }
  const text = last?.role === "user" ? last.content : ""
  const calls = req.tools && req.tools.length > 0 ? callsFor(text, req.tools, hash(JSON.stringify(msgs))) : []
  if (calls.length > 0) return { content: "", toolCalls: calls }
  if (req.jsonSchema) return { content: JSON.stringify({ text: `offline model: ${text}` }), toolCalls: [] }
  return { content: `offline model: ${text}`, toolCalls: [] }
}

export function offlineProvider(options: { name?: string; latencyMs?: number } = {}): Provider {
  const name = options.name ?? "offline"
  return {
    name,
    kind: "offline",
    offline: true,
    async call(model, req, o = {}): Promise<ProviderAnswer> {
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs))
      const a = offlineAnswer(req)
      if (o.onDelta) {
        const emit: (d: StreamDelta) => void = o.onDelta
        for (const piece of a.content.match(/\S+\s*/g) ?? []) emit({ type: "text", text: piece })
        a.toolCalls.forEach((c, index) => emit({ type: "tool_call", index, id: c.id, name: c.name, argumentsDelta: JSON.stringify(c.arguments) }))
      }
      const input = req.messages.reduce((n, m) => n + estimateTokens(m.content), 0)
      const output = estimateTokens(a.content + a.toolCalls.map((c) => JSON.stringify(c.arguments)).join(""))
      return { ...a, finishReason: a.toolCalls.length > 0 ? "tool_calls" : "stop", usage: { inputTokens: input, outputTokens: output }, model }
    },
  }
}
