/**
 * `defineConversationalAgent`: an agent type whose `Chat {text}` runs one durable turn — the
 * usual loop, model → tool calls → model → answer, with a step limit — and keeps the
 * conversation in its state under a declared length policy.
 *
 * Durable across the death of its node: the turn id is the actor's turn counter (`t<n>`), which
 * advances only with the checkpoint written before the reply (`before-reply`). A turn cut short
 * is asked again (a caller's retry, or durable mail redelivered) on the actor's new owner with
 * the same id and text, and the journal hands back every step already done: no completed model
 * call or tool call is repeated.
 *
 * Protocol: `Chat {text, stream?, history?}` → `{text, turn, offline}`; `History {}` →
 * `{messages, turns}`; `Reset {}` → `{turns}`. `stream` names a stream id: the answer's
 * deltas are published on ants.<tenant>.stream.<stream> while the turn runs; without it, the
 * ask's `Ants-Stream` header (`ants ask --stream`) names the stream. `history` is
 * what a handoff passes: the conversation so far, given to the model before this actor's own.
 *
 * A turn waits on models, often several times: `Chat` may run 10 minutes by default (the
 * node's 30 s handler deadline is for ordinary handlers); `handlerTimeoutMs` overrides it.
 *
 * A turn whose tool call waits on a human (an approval request) does not keep the actor: the
 * turn ends, `Chat` replies at once with `held` (the request's id) and the actor answers other
 * messages, or sleeps. The turn is kept in the state (`held`); once the request is decided (by
 * a human or its deadline, on any node, after any crash) the approval queue sends
 * `ResumeTurn {turn}`, and the turn goes on from its journal: the decided call runs (or is
 * refused) once, and the answer joins the conversation, is streamed to the original `stream`
 * if there was one, and is kept in the approval request as `resumed.reply`.
 *
 * Model errors are not crashes: a turn no model could answer replies `unavailable` and the
 * actor keeps its state (supervision resumes it); an exhausted budget replies `budget_exceeded`
 * and escalates to the type's supervisor.
 */
import * as Schema from "effect/Schema"
import type { ActorContext } from "./actor-context.ts"
import { recallForTurn, resolveConversationMemory, storeTurn, type ConversationMemoryOptions } from "./conversation-memory.ts"
import { defineAgent, type AgentDefinition, type AgentOptions } from "./define-agent.ts"
import { hasTag } from "../../subjects/errors.ts"
import { DEFAULT_POLICY, type ChatMessage, type TurnHeldError, type ConversationPolicy, type ModelClient, type RouteOptions, type Tool, type TurnResult } from "../models/mod.ts"

export interface ConversationState {
  conversation: ChatMessage[]
  turns: number
  /** Turns that ended waiting on a human's decision, by turn id: taken up by `ResumeTurn`. */
  held?: Record<string, HeldTurn>
}

/** A turn held for approval: what it needs to start again with the same input and history. */
export interface HeldTurn {
  readonly text: string
  readonly history: ReadonlyArray<ChatMessage>
  /** What was recalled for the turn (the turn's context, recorded with it). */
  readonly context?: ReadonlyArray<ChatMessage>
  readonly approval: string
  readonly stream?: string
}

export interface ConversationalSpec extends Omit<AgentOptions, "checkpoint"> {
  readonly type: string
  /** The system prompt. */
  readonly system?: string
  readonly tools?: ReadonlyArray<Tool>
  /** Model calls per turn, default 8. */
  readonly maxSteps?: number
  /** How long the conversation may grow, default: truncate to the newest 40 messages. */
  readonly policy?: ConversationPolicy
  /**
   * Routing of this type's model calls: a preferred model, capabilities, a per-call budget, and
   * the summarising step for a prompt that fits no model's context (its output is journaled).
   */
  readonly route?: Pick<RouteOptions, "model" | "capabilities" | "maxCostUsd" | "summarise">
  readonly maxTokens?: number
  /**
   * Called after each completed turn, before the reply: the place to keep the turn as episodic
   * memory (through the context's memory layer) or to publish it.
   */
  readonly onTurn?: (turn: TurnResult, ctx: ActorContext<ConversationState>) => void | Promise<void>
  /**
   * Conversation memory (conversation-memory.ts): each completed turn kept as episodic memory
   * of the actor, and the memories most similar to a new message (3 by default) given to the
   * model with it. `true` for the defaults, or options; default off. Needs the node's memory
   * (on unless the node is started with `memory: false`, when it is skipped).
   */
  readonly memory?: ConversationMemoryOptions | boolean
  readonly extensions?: Readonly<Record<string, unknown>>
}

const ChatIn = Schema.Struct({
  text: Schema.String,
  stream: Schema.optional(Schema.String),
  history: Schema.optional(Schema.Array(Schema.Unknown)),
})
const ChatOut = Schema.Struct({
  text: Schema.String,
  turn: Schema.String,
  offline: Schema.Boolean,
  /** Set when the turn waits on a human: the approval request's id; the answer comes with `ResumeTurn` after the decision. */
  held: Schema.optional(Schema.String),
})

export const conversationalProtocol = {
  Chat: { message: ChatIn, reply: ChatOut },
  History: { message: Schema.Struct({}), reply: Schema.Struct({ messages: Schema.Array(Schema.Unknown), turns: Schema.Number }) },
  Reset: { message: Schema.Struct({}), reply: Schema.Struct({ turns: Schema.Number }) },
  /** Sent by the approval queue once a held turn's request is decided: the turn goes on from its journal. */
  ResumeTurn: { message: Schema.Struct({ turn: Schema.String }), reply: Schema.Struct({ text: Schema.String, turn: Schema.String, offline: Schema.Boolean, held: Schema.optional(Schema.String), resumed: Schema.Boolean }) },
}

/** The turn spec of a conversational type (what `ants turn replay` replays against). */
export const TURN_SPEC_EXTENSION = "models.turnSpec"

function isChatMessage(m: unknown): m is ChatMessage {
  const r = (m as { role?: unknown })?.role
  return (r === "user" || r === "assistant" || r === "system" || r === "tool") && typeof (m as { content?: unknown }).content === "string"
}

/** The model client of a handler's context (the node configures it with `models`). */
export function modelOf(ctx: ActorContext<unknown>): ModelClient {
  const m = (ctx as unknown as { model?: ModelClient }).model
  if (!m) throw new Error(`no model client on this node's context (start the node with models)`)
  return m
}

/** How long a `Chat` turn may run unless the spec says otherwise. */
export const CHAT_TIMEOUT_MS = 10 * 60_000

export function defineConversationalAgent(spec: ConversationalSpec): AgentDefinition<typeof conversationalProtocol, ConversationState> {
  const { type, system, tools, maxSteps, policy = DEFAULT_POLICY, route, maxTokens, onTurn, memory, extensions, handlerTimeoutMs = { tags: { Chat: CHAT_TIMEOUT_MS, ResumeTurn: CHAT_TIMEOUT_MS } }, ...options } = spec
  const remembering = resolveConversationMemory(memory)
  const turnSpec = { system, tools, maxSteps, maxTokens }
  // Ends a turn: its messages join the conversation (a resumed one's after the turns taken meanwhile).
  const finish = async (ctx: ActorContext<ConversationState>, turn: string, text: string, r: TurnResult, sink: ReturnType<ModelClient["stream"]> | undefined) => {
    const model = modelOf(ctx)
    ctx.state.conversation = await model.compact([...ctx.state.conversation, ...r.messages], policy, turn)
    if (remembering) await storeTurn(ctx.memory, remembering, { id: turn, text, answer: r.text }, (m, f) => ctx.log(m, f))
    if (onTurn) await onTurn(r, ctx)
    sink?.end({ text: r.text })
  }
  return defineAgent({
    ...options,
    handlerTimeoutMs,
    type,
    checkpoint: "before-reply",
    extensions: { ...extensions, [TURN_SPEC_EXTENSION]: turnSpec },
    protocol: conversationalProtocol,
    initialState: (): ConversationState => ({ conversation: [], turns: 0 }),
    handlers: {
      Chat: async ({ text, stream, history }, ctx) => {
        const model = modelOf(ctx)
        const turn = `t${ctx.state.turns}`
        const handed = (history ?? []).filter(isChatMessage)
        const streamId = stream ?? ctx.streamId
        const sink = streamId ? model.stream(streamId) : undefined
        const before: ChatMessage[] = [...handed, ...ctx.state.conversation]
        let context: ChatMessage[] = []
        try {
          // the turn's context: a turn started again (its node was lost) keeps what it recalled the first time
          const recalled = remembering ? await recallForTurn(ctx.memory, remembering, { id: turn, text, conversation: ctx.state.conversation }, (m, f) => ctx.log(m, f)) : undefined
          context = recalled ? [recalled] : []
          const r = await model.turn(text, { ...turnSpec, turn, route: { ...route, type }, history: before, context, onDelta: sink?.onDelta, resume: { tag: "ResumeTurn", message: { turn } } })
          ctx.state.turns++
          await finish(ctx, turn, text, r, sink)
          return { text: r.text, turn, offline: r.offline }
        } catch (e) {
          if (hasTag(e, "TurnHeldError")) {
            // the turn waits on a human: the actor is free meanwhile; the decision sends ResumeTurn
            const held = e as TurnHeldError
            ctx.state.held = { ...ctx.state.held, [turn]: { text, history: before, ...(context.length > 0 ? { context } : {}), approval: held.approval, ...(streamId ? { stream: streamId } : {}) } }
            ctx.state.turns++
            return { text: held.message, turn, offline: model.offline, held: held.approval }
          }
          sink?.end({ error: (e as Error)?.message ?? String(e) })
          throw e
        }
      },
      ResumeTurn: async ({ turn }, ctx) => {
        const h = ctx.state.held?.[turn]
        const model = modelOf(ctx)
        // taken up already (a resume sent twice): nothing runs again
        if (!h) return { text: "", turn, offline: model.offline, resumed: false }
        const sink = h.stream ? model.stream(h.stream) : undefined
        try {
          const r = await model.turn(h.text, { ...turnSpec, turn, route: { ...route, type }, history: h.history, context: h.context, onDelta: sink?.onDelta, resume: { tag: "ResumeTurn", message: { turn } } })
          const { [turn]: _done, ...rest } = ctx.state.held ?? {}
          ctx.state.held = rest
          await finish(ctx, turn, h.text, r, sink)
          return { text: r.text, turn, offline: r.offline, resumed: true }
        } catch (e) {
          if (hasTag(e, "TurnHeldError")) {
            // another call of the same turn waits on a human now
            const held = e as TurnHeldError
            ctx.state.held = { ...ctx.state.held, [turn]: { ...h, approval: held.approval } }
            return { text: held.message, turn, offline: model.offline, held: held.approval, resumed: true }
          }
          sink?.end({ error: (e as Error)?.message ?? String(e) })
          throw e
        }
      },
      History: (_m, ctx) => ({ messages: ctx.state.conversation, turns: ctx.state.turns }),
      Reset: (_m, ctx) => {
        ctx.state.conversation = []
        return { turns: ctx.state.turns }
      },
    },
  })
}
