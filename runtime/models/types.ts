/**
 * The one internal shape every provider is normalised to: messages, tool calls, usage, finish
 * reasons and stream deltas. Providers translate from and to their own wire formats; the
 * router, the turn loop, the journal and the cost ledger see only these types. Plain data
 * throughout (JSON-serialisable), so a recorded step can be stored and replayed as it is.
 */

/** A call the model asks for: `arguments` is the parsed JSON object the model produced. */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: unknown
}

export type ChatMessage =
  | { readonly role: "system"; readonly content: string }
  | { readonly role: "user"; readonly content: string }
  | { readonly role: "assistant"; readonly content: string; readonly toolCalls?: ReadonlyArray<ToolCall> }
  | { readonly role: "tool"; readonly toolCallId: string; readonly name: string; readonly content: string }

/** A tool as the model sees it: a name, what it does, and the JSON Schema of its arguments. */
export interface ToolSpec {
  readonly name: string
  readonly description: string
  readonly parameters: Readonly<Record<string, unknown>>
}

export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
}

/** Why the model stopped: `stop` (answered), `tool_calls`, `length` (max tokens), `content_filter`, `other`. */
export type FinishReason = "stop" | "tool_calls" | "length" | "content_filter" | "other"

/** A piece of an answer while it streams. */
export type StreamDelta =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "tool_call"; readonly index: number; readonly id?: string; readonly name?: string; readonly argumentsDelta: string }

/** What a caller asks of a model, provider-neutral. */
export interface ModelRequest {
  readonly messages: ReadonlyArray<ChatMessage>
  readonly tools?: ReadonlyArray<ToolSpec>
  /** Upper bound on output tokens (default 1024). */
  readonly maxTokens?: number
  readonly temperature?: number
  /** Ask for a JSON answer that fits this JSON Schema (structured output). */
  readonly jsonSchema?: { readonly name: string; readonly schema: Readonly<Record<string, unknown>> }
}

/** What one provider call returned, provider-neutral. */
export interface ProviderAnswer {
  readonly content: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: FinishReason
  readonly usage: Usage
  /** The model name the provider says answered. */
  readonly model: string
}

export interface ProviderCallOptions {
  readonly signal?: AbortSignal
  /** Called for each delta when the answer is streamed; without it the call is not streamed. */
  readonly onDelta?: (delta: StreamDelta) => void
  /** Per-call timeout in ms (the provider's own timeout: a timeout is a provider error, not a crash). */
  readonly timeoutMs?: number
}

/** One way of reaching models: an SDK client (OpenAI, Anthropic) or the offline provider. */
export interface Provider {
  /** Name in the models file ("openai", "anthropic", "local", "offline"...). */
  readonly name: string
  readonly kind: "openai" | "anthropic" | "offline"
  /** True for the deterministic offline provider: every answer's metadata says so. */
  readonly offline: boolean
  call(model: string, request: ModelRequest, options?: ProviderCallOptions): Promise<ProviderAnswer>
}

/** The answer of a routed model call, with where it came from and what it cost. */
export interface ModelAnswer extends ProviderAnswer {
  /** The deployment (models file entry) that answered. */
  readonly deployment: string
  readonly provider: string
  readonly offline: boolean
  readonly latencyMs: number
  readonly costUsd: number
  /** Deployments tried before this one, with why they failed. */
  readonly attempts: ReadonlyArray<{ readonly deployment: string; readonly error: string }>
}
