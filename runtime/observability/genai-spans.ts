/**
 * Spans of model and tool calls, named and attributed after the OpenTelemetry GenAI semantic
 * conventions (`chat <model>`, `execute_tool <name>`; `gen_ai.*` attributes), so GenAI-aware
 * backends show tokens, models and tools without configuration. The attribute names are
 * written here rather than imported: the conventions are still "incubating" and their
 * constants move between releases of the semantic-conventions package.
 */
import { SpanKind, SpanStatusCode, type Span } from "@opentelemetry/api"
import { ATTR } from "./attributes.ts"
import { startChildSpan, tracingActive, withSpan } from "./tracing.ts"

/** What a model call is about to do (one attempt on one deployment). */
export interface ModelCallStart {
  /** `openai`, `anthropic` or `offline` (the provider's kind). */
  readonly system: string
  /** The provider's name in the models file. */
  readonly provider: string
  readonly model: string
  readonly deployment: string
  readonly maxTokens?: number
  readonly temperature?: number
  readonly streaming: boolean
}

/** What the call answered. */
export interface ModelCallEnd {
  readonly model: string
  readonly finishReason: string
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number }
  readonly costUsd?: number
}

/** A model call's span (`chat <model>`, kind client), a child of the active span (the handler's turn); undefined when tracing is off. */
export function startModelSpan(c: ModelCallStart): Span | undefined {
  if (!tracingActive()) return undefined
  const attributes: Record<string, string | number | boolean> = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": c.system,
    "gen_ai.request.model": c.model,
    [ATTR.modelProvider]: c.provider,
    [ATTR.modelDeployment]: c.deployment,
    [ATTR.modelStreaming]: c.streaming,
  }
  if (c.maxTokens !== undefined) attributes["gen_ai.request.max_tokens"] = c.maxTokens
  if (c.temperature !== undefined) attributes["gen_ai.request.temperature"] = c.temperature
  return startChildSpan(`chat ${c.model}`, attributes, undefined, SpanKind.CLIENT)
}

/** Ends a model call's span with its usage, or as an error (`error.type` is the provider error's kind). */
export function endModelSpan(span: Span | undefined, answer: ModelCallEnd | undefined, error?: unknown): void {
  if (span === undefined) return
  if (answer !== undefined) {
    span.setAttribute("gen_ai.response.model", answer.model)
    span.setAttribute("gen_ai.response.finish_reasons", [answer.finishReason])
    span.setAttribute("gen_ai.usage.input_tokens", answer.usage.inputTokens)
    span.setAttribute("gen_ai.usage.output_tokens", answer.usage.outputTokens)
    if (answer.costUsd !== undefined) span.setAttribute(ATTR.modelCostUsd, answer.costUsd)
  } else {
    const kind = (error as { kind?: unknown })?.kind
    span.setAttribute("error.type", typeof kind === "string" ? kind : ((error as { _tag?: string })?._tag ?? "error"))
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) })
  }
  span.end()
}

/**
 * Runs a tool call in its span (`execute_tool <name>`): a result `{ ok: false }` marks the span
 * an error. Without tracing it is `run()` itself.
 */
export async function traceToolCall<T extends { readonly ok: boolean; readonly result: unknown }>(name: string, callId: string | undefined, run: () => Promise<T>): Promise<T> {
  const span = startChildSpan(`execute_tool ${name}`, { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, ...(callId ? { "gen_ai.tool.call.id": callId } : {}) })
  if (span === undefined) return await run()
  try {
    // what the tool sends (an agent it asks) is the span's child
    const out = await withSpan(span, run)
    if (!out.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: typeof out.result === "string" ? out.result : "tool failed" })
    return out
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error)?.message ?? String(e) })
    throw e
  } finally {
    span.end()
  }
}
