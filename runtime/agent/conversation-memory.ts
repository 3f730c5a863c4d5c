/**
 * Conversation memory: a conversational agent's completed turns kept as episodic memory
 * (`ctx.memory`), and the memories most similar to a new message brought back into that
 * turn's prompt, so an agent recalls what was said beyond the window its conversation
 * policy keeps (after a truncation, a `Reset`, or a wake on another node).
 *
 * What it promises:
 *   - retrieval is bounded: at most `recall` items (default 3, at most 20), each cut to
 *     `maxChars`, at least `minScore` similar, none already in the conversation, given to the
 *     model as one system message placed just before the user's message (and kept in the
 *     turn journal's history, so `ants turn replay` sees what the model saw);
 *   - a turn run again with the same id (after its node died) retrieves the same items: the
 *     entry an earlier attempt of the same turn stored is left out, and stored again only
 *     once (the earlier one is replaced);
 *   - memory never fails a turn: a node started without memory (`memory: false`) is skipped
 *     quietly; any other memory error is logged and the turn goes on without it.
 */
import type { MemoryScope, ScopedMemory } from "../memory/mod.ts"
import type { ChatMessage } from "../models/mod.ts"

export interface ConversationMemoryOptions {
  /** Keep each completed turn (the user's text and the answer) as an episodic memory. Default true. */
  readonly store?: boolean
  /** Memories retrieved into each turn's prompt, most similar first; 0 retrieves none. Default 3, at most 20. */
  readonly recall?: number
  /** Whose memories retrieval searches: this actor's own (default), its type's, or its tenant's. */
  readonly scope?: MemoryScope
  /** Only memories at least this similar to the user's message (cosine, -1..1). Default 0.2. */
  readonly minScore?: number
  /** Characters of a retrieved memory given to the model. Default 1,000. */
  readonly maxChars?: number
  /** Stored turns are forgotten after this long. Default: kept until forgotten. */
  readonly ttlMs?: number
}

export const DEFAULT_CONVERSATION_MEMORY = { store: true, recall: 3, scope: "actor", minScore: 0.2, maxChars: 1000 } as const
export const MAX_RECALLED = 20
/** What marks the entries this module stores (metadata `source`). */
export const CONVERSATION_SOURCE = "conversation"
/** The longest stored turn text, in characters (the store's own limit is 32 KiB of UTF-8). */
const MAX_STORED_CHARS = 8000
export const MEMORY_PREAMBLE = "Relevant memories from earlier conversations (most similar first):"

export interface ResolvedConversationMemory {
  readonly store: boolean
  readonly recall: number
  readonly scope: MemoryScope
  readonly minScore: number
  readonly maxChars: number
  readonly ttlMs: number | undefined
}

/** The options with every default filled in; `false` (or none) is off. Bad values are a clear error at definition. */
export function resolveConversationMemory(o: ConversationMemoryOptions | boolean | undefined): ResolvedConversationMemory | undefined {
  if (o === undefined || o === false) return undefined
  const given: ConversationMemoryOptions = o === true ? {} : o
  const r = { ...DEFAULT_CONVERSATION_MEMORY, ttlMs: undefined, ...given }
  if (!Number.isInteger(r.recall) || r.recall < 0 || r.recall > MAX_RECALLED) throw new Error(`conversation memory: recall must be an integer from 0 to ${MAX_RECALLED} (got ${String(r.recall)})`)
  if (!Number.isInteger(r.maxChars) || r.maxChars < 1) throw new Error(`conversation memory: maxChars must be a positive integer (got ${String(r.maxChars)})`)
  if (typeof r.minScore !== "number" || r.minScore < -1 || r.minScore > 1) throw new Error(`conversation memory: minScore must be from -1 to 1 (got ${String(r.minScore)})`)
  return r
}

/** How a stored turn reads: what retrieval compares the next messages with. */
export function turnText(input: string, answer: string): string {
  const text = `User: ${input}\nAssistant: ${answer}`
  return text.length > MAX_STORED_CHARS ? text.slice(0, MAX_STORED_CHARS) : text
}

const isUnavailable = (e: unknown) => (e as { code?: unknown })?.code === "unavailable" && /disabled/.test(String((e as Error)?.message))

type Log = (message: string, fields?: Record<string, unknown>) => void

/** The system message of memories for a turn, or undefined when there is nothing relevant (or no memory). */
export async function recallForTurn(
  memory: ScopedMemory,
  o: ResolvedConversationMemory,
  turn: { readonly id: string; readonly text: string; readonly conversation: ReadonlyArray<ChatMessage> },
  log: Log,
): Promise<ChatMessage | undefined> {
  if (o.recall === 0 || memory.disabled) return undefined
  let found: Awaited<ReturnType<ScopedMemory["recall"]>>
  try {
    // a few more than needed: some may be turns still in the conversation
    found = await memory.recall({ query: turn.text, k: Math.min(1000, o.recall + 5), scope: o.scope, minScore: o.minScore })
  } catch (e) {
    if (!isUnavailable(e)) log(`conversation memory: recall failed, the turn goes on without memories: ${(e as Error)?.message ?? String(e)}`, { turn: turn.id })
    return undefined
  }
  // a stored turn whose user message is still in the conversation is in the prompt already
  const inConversation = new Set(turn.conversation.filter((m) => m.role === "user").map((m) => `User: ${m.content}\n`))
  const items = found
    .filter((m) => !(m.metadata.source === CONVERSATION_SOURCE && m.metadata.turn === turn.id))
    .filter((m) => !(m.metadata.source === CONVERSATION_SOURCE && inConversation.has(m.text.slice(0, m.text.indexOf("\nAssistant: ") + 1))))
    .slice(0, o.recall)
  if (items.length === 0) return undefined
  const lines = items.map((m) => `- ${(m.text.length > o.maxChars ? m.text.slice(0, o.maxChars) + "…" : m.text).replace(/\n/g, " / ")}`)
  return { role: "system", content: `${MEMORY_PREAMBLE}\n${lines.join("\n")}` }
}

/** Keeps a completed turn as an episodic memory (replacing one an earlier attempt of the same turn stored). */
export async function storeTurn(memory: ScopedMemory, o: ResolvedConversationMemory, turn: { readonly id: string; readonly text: string; readonly answer: string }, log: Log): Promise<void> {
  if (!o.store || memory.disabled) return
  const metadata = { source: CONVERSATION_SOURCE, turn: turn.id }
  try {
    await memory.forget({ kind: "episodic", filter: metadata })
    await memory.remember({ kind: "episodic", text: turnText(turn.text, turn.answer), metadata, ...(o.ttlMs !== undefined ? { ttlMs: o.ttlMs } : {}) })
  } catch (e) {
    if (!isUnavailable(e)) log(`conversation memory: turn ${turn.id} was not stored: ${(e as Error)?.message ?? String(e)}`, { turn: turn.id })
  }
}
