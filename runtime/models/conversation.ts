/**
 * A conversation kept per actor, with a declared policy for its length: the model's context
 * is finite and every token of history is paid for on every call.
 *
 *   { kind: "truncate", maxMessages }          keep the newest messages
 *   { kind: "summarise", maxMessages, keep }   fold the older messages into one summary
 *                                              (a model call), keep the newest `keep`
 *
 * A cut never separates an assistant's tool calls from their results: it moves forward to the
 * next user message. The conversation is plain data in the actor's state, so it is
 * checkpointed with it and survives sleep, wake and failover.
 */
import type { ChatMessage } from "./types.ts"

export type ConversationPolicy =
  | { readonly kind: "truncate"; readonly maxMessages: number }
  | { readonly kind: "summarise"; readonly maxMessages: number; readonly keep: number }

export const DEFAULT_POLICY: ConversationPolicy = { kind: "truncate", maxMessages: 40 }

/** The first index at or after `from` where a kept tail may start (a user message). */
function safeCut(messages: ReadonlyArray<ChatMessage>, from: number): number {
  for (let i = Math.max(0, from); i < messages.length; i++) if (messages[i].role === "user") return i
  return messages.length
}

/**
 * Applies the policy. `summarise` turns the dropped messages into a summary text (a model
 * call); a previous summary is among the dropped messages, so summaries fold forward.
 */
export async function applyPolicy(
  messages: ReadonlyArray<ChatMessage>,
  policy: ConversationPolicy,
  summarise?: (dropped: ReadonlyArray<ChatMessage>) => Promise<string>,
): Promise<ChatMessage[]> {
  if (messages.length <= policy.maxMessages) return [...messages]
  if (policy.kind === "truncate") return messages.slice(safeCut(messages, messages.length - policy.maxMessages))
  const cut = safeCut(messages, messages.length - Math.min(policy.keep, policy.maxMessages - 1))
  const dropped = messages.slice(0, cut)
  if (dropped.length === 0) return [...messages]
  if (!summarise) return messages.slice(cut)
  const summary = await summarise(dropped)
  return [{ role: "system", content: `Summary of the earlier conversation: ${summary}` }, ...messages.slice(cut)]
}

/** Renders messages as plain text for a summarising prompt. */
export function transcript(messages: ReadonlyArray<ChatMessage>): string {
  return messages
    .map((m) => {
      if (m.role === "tool") return `tool ${m.name}: ${m.content}`
      if (m.role === "assistant" && m.toolCalls?.length) return `assistant: ${m.content} [calls ${m.toolCalls.map((c) => `${c.name}(${JSON.stringify(c.arguments)})`).join(", ")}]`
      return `${m.role}: ${m.content}`
    })
    .join("\n")
}
