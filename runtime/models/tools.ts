/**
 * Tools a model may call, declared with Schema: the JSON Schema the model sees is derived
 * from the same value that validates the arguments it produces. A tool's handler is a plain
 * function, another agent (`agentTool`: one tag of an agent's protocol becomes a tool, and an
 * ask carries the call), or a handoff (`handoffTool`: the conversation goes to another agent,
 * whose answer ends the turn).
 *
 * Arguments that do not fit are never run: the turn hands the model the validation error as
 * the tool's result, so it can correct itself.
 */
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ActorAddress } from "../../subjects/grammar.ts"
import { ToolCallError } from "./errors.ts"
import type { ChatMessage, ToolSpec } from "./types.ts"

/** Runs a tool of the caller's tenant's registry by name and resolves with its result (runtime/tools). */
export type RunTool = (name: string, args: unknown) => Promise<unknown>

/**
 * The port through which a tool asks another agent; the engine fills it with a real ask, and
 * with `runTool` where the node serves a tool registry (the caller's tenant's, through its scope).
 * `idempotencyKey` (the tool call's key) goes with the ask, for the asked actor's `ctx.idempotencyKey`.
 */
export type AskAgent = ((type: string, id: string, tag: string, message: unknown, idempotencyKey?: string) => Promise<unknown>) & { readonly runTool?: RunTool }

export interface ToolContext {
  /** Stable across a resumed turn: a tool with side effects should de-duplicate on it. */
  readonly idempotencyKey: string
  /** The actor whose turn calls the tool, when there is one. */
  readonly caller?: ActorAddress
  readonly askAgent: AskAgent
  /** The conversation so far (handoff tools pass it on). */
  readonly history?: ReadonlyArray<ChatMessage>
}

export interface Tool {
  readonly name: string
  readonly description: string
  readonly spec: ToolSpec
  /** Validates arguments: the decoded value, or a ToolCallError. */
  decode(args: unknown): Either.Either<unknown, ToolCallError>
  run(args: unknown, ctx: ToolContext): Promise<unknown>
  /** Set on handoff tools: the answer of the agent it hands to ends the turn. */
  readonly handoff?: { readonly agent: string; readonly tag: string }
  /** What running it can do: `high` (moves money, deletes, sends) is held for approval unless policy allows it. Default `low`. */
  readonly impact?: ToolImpact
}

export type ToolImpact = "low" | "high"

/** A tool call about to run, as the gate sees it (arguments already valid). */
export interface ToolGateCall {
  readonly caller: ActorAddress
  readonly turn: string
  readonly seq: number
  readonly tool: string
  readonly impact: ToolImpact
  readonly arguments: unknown
  /** Stable across a resumed turn: a gate keys its approval request on it. */
  readonly idempotencyKey: string
  /** The conversation so far (what an approver is shown, summarised). */
  readonly history: ReadonlyArray<ChatMessage>
  /** Set when the turn may end while a human decides: how its actor is told to resume it. */
  readonly resume?: TurnResume
}

/**
 * How a held turn's actor is told to take it up again once the decision is made: `tag` with
 * `message`, sent to the actor that ran the turn (a conversational agent's `ResumeTurn {turn}`).
 */
export interface TurnResume {
  readonly tag: string
  readonly message: unknown
}

/**
 * Run it (with amended arguments, when a human changed them), or hand the model `result`
 * instead; `held` (only when the call carried `resume`): a human has not decided yet, so the
 * turn ends now, nothing journaled for this call, and is resumed after the decision.
 */
export type ToolGateVerdict = { readonly run: true; readonly arguments?: unknown } | { readonly run: false; readonly result: string; readonly held?: string }

/** A model call about to be made, as policy sees it: each deployment the router could use, with its estimated cost. */
export interface ModelGateCall {
  readonly caller: ActorAddress
  /** The model the call names (a turn's `route.model`, a chat's `model`), else undefined: the router picks. */
  readonly model?: string
  readonly candidates: ReadonlyArray<{ readonly deployment: string; readonly provider: string; readonly estimatedUsd: number }>
  /** Within a turn: what its model calls have cost so far, before this one. */
  readonly turnSpentUsd?: number
}

/**
 * The port consulted before every model call (policy over model use and spending); the node
 * fills it. It names the deployments the call may not use; when that is all of them, the call
 * is refused (`ModelDeniedError`) before any provider is asked.
 */
export type ModelGate = (call: ModelGateCall) => Promise<{ readonly deny: ReadonlyArray<string>; readonly reason?: string }>

/**
 * The port consulted before every tool call of a turn (policy, approvals); the node fills it.
 * Its verdict is journaled as the tool's step, so a resumed turn asks it again only for a call
 * whose verdict was not recorded (the gate then finds its pending request by the idempotency key).
 */
export type ToolGate = (call: ToolGateCall) => Promise<ToolGateVerdict>

const NAME = /^[A-Za-z0-9_-]{1,64}$/

function jsonSchemaOf(schema: Schema.Schema.Any): Record<string, unknown> {
  const js = { ...(JSONSchema.make(schema as Schema.Schema<unknown, unknown>) as unknown as Record<string, unknown>) }
  delete js.$schema
  return js
}

function make<A, I>(name: string, description: string, parameters: Schema.Schema<A, I>, run: (args: A, ctx: ToolContext) => unknown, handoff?: Tool["handoff"], impact?: ToolImpact): Tool {
  if (!NAME.test(name)) throw new ToolCallError(`tool name "${name}" must be 1-64 letters, digits, '_' or '-' (what model APIs accept)`, name)
  const decode = Schema.decodeUnknownEither(parameters)
  return {
    name,
    description,
    spec: { name, description, parameters: jsonSchemaOf(parameters) },
    decode(args) {
      const r = decode(args)
      if (Either.isRight(r)) return Either.right(r.right)
      const issues = ParseResult.TreeFormatter.formatErrorSync(r.left)
      return Either.left(new ToolCallError(`arguments of ${name} do not fit its schema: ${issues}`, name, issues))
    },
    run: async (args, ctx) => await run(args as A, ctx),
    handoff,
    ...(impact ? { impact } : {}),
  }
}

/** A tool whose handler is a plain (sync or async) function. */
export function defineTool<A, I>(spec: {
  readonly name: string
  readonly description: string
  readonly parameters: Schema.Schema<A, I>
  readonly run: (args: A, ctx: ToolContext) => unknown
  readonly impact?: ToolImpact
}): Tool {
  return make(spec.name, spec.description, spec.parameters, spec.run, undefined, spec.impact)
}

/** Something that names an agent type: its definition (`{type}`) or the type name. */
export type AgentName = string | { readonly type: string }

/**
 * One tag of another agent as a tool. By default the arguments' `id` names the actor and the
 * other arguments are the message (`counter_add {id, n}` asks counter `id` with `Add {n}`);
 * `route` maps them otherwise.
 */
export function agentTool<A, I>(spec: {
  readonly name: string
  readonly description: string
  readonly parameters: Schema.Schema<A, I>
  readonly agent: AgentName
  readonly tag: string
  readonly route?: (args: A) => { readonly id: string; readonly message: unknown }
  readonly impact?: ToolImpact
}): Tool {
  const type = typeof spec.agent === "string" ? spec.agent : spec.agent.type
  const route =
    spec.route ??
    ((args: A) => {
      const { id, ...message } = args as { id?: unknown } & Record<string, unknown>
      if (typeof id !== "string") throw new ToolCallError(`tool ${spec.name} needs a string "id" argument (or a route)`, spec.name)
      return { id, message }
    })
  return make(spec.name, spec.description, spec.parameters, (args, ctx) => {
    const r = route(args)
    // the call's key goes with the ask: a resumed turn's repeat of it carries the same one
    return ctx.askAgent(type, r.id, spec.tag, r.message, ctx.idempotencyKey)
  }, undefined, spec.impact)
}

export const HandoffArguments = Schema.Struct({
  id: Schema.String.annotations({ description: "which agent of that type takes the conversation over" }),
  text: Schema.String.annotations({ description: "what to tell it" }),
})

/**
 * Hands the conversation to another agent: the model picks the actor (`id`) and the text; the
 * agent receives `{text, history}` on `tag` (default `Chat`) and its answer ends the turn.
 */
export function handoffTool(spec: { readonly name: string; readonly description: string; readonly agent: AgentName; readonly tag?: string }): Tool {
  const type = typeof spec.agent === "string" ? spec.agent : spec.agent.type
  const tag = spec.tag ?? "Chat"
  return make(spec.name, spec.description, HandoffArguments, (args, ctx) => ctx.askAgent(type, args.id, tag, ctx.history ? { text: args.text, history: ctx.history } : { text: args.text }, ctx.idempotencyKey), { agent: type, tag })
}
