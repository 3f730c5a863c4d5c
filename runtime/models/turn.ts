/**
 * An agent's turn: the usual loop (model → tool calls → model → … → answer) with a step limit,
 * durable through the turn journal. Each model answer and each tool result is recorded before
 * the turn uses it; a turn started again with the same turn id and input (the actor's new
 * owner after its node was killed, or a retry) takes recorded steps from the journal instead
 * of calling the model or the tool again, and continues from the first step not recorded.
 *
 * When a prompt fits no model's context and the turn declares a summarising step
 * (`route.summarise`), the step's output is recorded too, before the model call that uses it.
 *
 * Tool calls carry an idempotency key, `<tenant>/<type>/<id>/<turn>/<seq>`, stable across
 * resumption: a tool that ran but whose result was not yet recorded when the node died runs
 * again with the same key, so a tool with side effects can recognise the repeat.
 *
 * Failures inside a turn are not crashes: a tool that throws or gets arguments that do not fit
 * its schema hands the model an error result; a model call that no deployment can answer
 * rejects the turn with the models layer's error (the journal keeps what was done).
 */
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import type { ActorAddress } from "../../subjects/grammar.ts"
import { TurnError, TurnHeldError } from "./errors.ts"
import type { TurnJournal, TurnStep } from "./journal.ts"
import type { RouteOptions } from "./router.ts"
import type { AskAgent, Tool, ToolGate, TurnResume } from "./tools.ts"
import type { ChatMessage, ModelAnswer, ModelRequest, StreamDelta, ToolCall, ToolSpec, Usage } from "./types.ts"
import { traceToolCall } from "../observability/genai-spans.ts"

export interface TurnSpec {
  /** The system prompt. */
  readonly system?: string
  readonly tools?: ReadonlyArray<Tool>
  /** Model calls a turn may make, default 8. */
  readonly maxSteps?: number
  /** Routing of this agent's model calls (type rules, a preferred model, a per-call budget). */
  readonly route?: RouteOptions
  readonly maxTokens?: number
}

/** How a turn reaches its steps: the live path (model, tools, journal) or a replay. */
export interface TurnSteps {
  model(seq: number, request: ModelRequest, digest: ModelStepDigest): Promise<Omit<ModelAnswer, "attempts">>
  tool(seq: number, call: ToolCall, idempotencyKey: string, run: () => Promise<{ ok: boolean; result: unknown }>): Promise<{ ok: boolean; result: unknown }>
  /** Steps taken from a record so far. */
  resumed(): number
}

export type ModelStepDigest = Extract<TurnStep, { kind: "model" }>["request"]

export interface TurnResult {
  readonly turn: string
  readonly text: string
  /** The messages this turn added (user input, assistant answers, tool results). */
  readonly messages: ReadonlyArray<ChatMessage>
  /** Model calls made or replayed. */
  readonly modelSteps: number
  /** Steps taken from the journal instead of being done again. */
  readonly resumed: number
  readonly usage: Usage
  readonly costUsd: number
  /** True when any answer came from the offline provider. */
  readonly offline: boolean
  readonly handoff?: { readonly agent: string; readonly id: string }
}

export function hashText(s: string): string {
  let h1 = 0x811c9dc5
  let h2 = 0x01000193
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 16777619) >>> 0
    h2 = Math.imul(h2 ^ c, 2246822519) >>> 0
  }
  return h1.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0")
}

const NO_TOOLS: ReadonlyArray<ToolSpec> = Object.freeze([])
/** The JSON text and names of a tool list, per list (a turn's list is the same array at every step and turn of its type). */
const toolDigests = new WeakMap<ReadonlyArray<ToolSpec>, { readonly json: string; readonly names: ReadonlyArray<string> }>()

/**
 * The digest of a request: the hash of `JSON.stringify([messages, tools, jsonSchema])`, the text
 * every record holds (replay compares it); the tools' part serialised once per tool list.
 */
export function digestRequest(req: ModelRequest): ModelStepDigest {
  const tools = req.tools ?? NO_TOOLS
  let t = toolDigests.get(tools)
  if (t === undefined) toolDigests.set(tools, (t = { json: JSON.stringify(tools), names: tools.map((x) => x.name) }))
  return { hash: hashText(`[${JSON.stringify(req.messages)},${t.json},${JSON.stringify(req.jsonSchema ?? null)}]`), tools: t.names, messages: req.messages.length }
}

/** The specs of a tool list, made once per list: the router's token estimate and the digest key their caches on it. */
const specLists = new WeakMap<ReadonlyArray<Tool>, ReadonlyArray<ToolSpec>>()
function specsOf(tools: ReadonlyArray<Tool> | undefined): ReadonlyArray<ToolSpec> {
  if (tools === undefined || tools.length === 0) return NO_TOOLS
  let s = specLists.get(tools)
  if (s === undefined) specLists.set(tools, (s = tools.map((x) => x.spec)))
  return s
}

function resultText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v ?? null)
}

/** The live path: recorded steps first, then real calls, each recorded before it is used. */
export function journaledSteps(deps: {
  readonly journal?: TurnJournal
  readonly address: ActorAddress
  readonly turn: string
  readonly recorded: ReadonlyArray<TurnStep>
  /** The declared summarising step, called when a prompt fits no model's context. */
  readonly summarise?: RouteOptions["summarise"]
  readonly call: (request: ModelRequest, summarise: RouteOptions["summarise"]) => Promise<ModelAnswer>
}): TurnSteps {
  const { journal, address, turn, recorded } = deps
  // The summarising step of model step `seq`: its output is recorded before the model call that
  // uses it, and a resumed turn takes it from the journal instead of summarising again.
  const summariseAt = (seq: number): RouteOptions["summarise"] => {
    const summarise = deps.summarise
    if (!summarise || !journal) return summarise
    return async (messages) => {
      const had = await journal.summary(address, turn, seq)
      if (had) {
        resumed++
        return had.messages
      }
      const out = await summarise(messages)
      return (await journal.recordSummary(address, turn, { seq, messages: out, at: now() })).messages
    }
  }
  const now = () => new Date().toISOString()
  let resumed = 0
  return {
    resumed: () => resumed,
    async model(seq, request, digest) {
      const r = recorded[seq]
      if (r && r.kind === "model") {
        resumed++
        return r.answer
      }
      const { attempts: _attempts, ...answer } = await deps.call(request, summariseAt(seq))
      if (!journal) return answer
      const kept = await journal.record(address, turn, { kind: "model", seq, request: digest, answer, at: now() })
      return kept.kind === "model" ? kept.answer : answer
    },
    async tool(seq, call, idempotencyKey, run) {
      const r = recorded[seq]
      if (r && r.kind === "tool" && r.callId === call.id) {
        resumed++
        return { ok: r.ok, result: r.result }
      }
      const out = await run()
      if (!journal) return out
      const kept = await journal.record(address, turn, { kind: "tool", seq, callId: call.id, name: call.name, idempotencyKey, arguments: call.arguments, ok: out.ok, result: out.result, at: now() })
      return kept.kind === "tool" ? { ok: kept.ok, result: kept.result } : out
    },
  }
}

export interface RunTurnInput {
  readonly spec: TurnSpec
  readonly address: ActorAddress
  readonly turn: string
  readonly history: ReadonlyArray<ChatMessage>
  readonly input: string
  readonly steps: TurnSteps
  readonly askAgent: AskAgent
  readonly onDelta?: (delta: StreamDelta) => void
  /** Consulted before each tool call runs (policy, approvals); its refusal is the tool's result. */
  readonly gate?: ToolGate
  /** Lets the gate end the turn while a human decides (TurnHeldError), telling it how the actor resumes it. */
  readonly resume?: TurnResume
  /** Observes each tool decision (replay uses it to compare). */
  readonly onToolDecision?: (seq: number, call: ToolCall, decision: "run" | "unknown" | "invalid", detail?: string) => void
}

/**
 * The askAgent a tool's code gets: its `runTool` (a registry tool of the tenant) passes the same
 * gate for any registry tool other than the one the model called (which the gate has already
 * seen), so a tool's code cannot run a registry tool past its tenant's policy either.
 */
function gatedRunTool(t: RunTurnInput, called: string, key: string, messages: () => ChatMessage[]): AskAgent {
  const run = t.askAgent.runTool
  const gate = t.gate
  if (!run || !gate) return t.askAgent
  let n = 0
  const runTool = async (name: string, args: unknown) => {
    if (name !== called) {
      const verdict = await gate({ caller: t.address, turn: t.turn, seq: -1, tool: name, impact: "low", arguments: args, idempotencyKey: `${key}/${name}/${n++}`, history: messages() })
      if (!verdict.run) throw new Error(verdict.result)
      if (verdict.arguments !== undefined) args = verdict.arguments
    }
    return run(name, args)
  }
  return Object.assign((type: string, id: string, tag: string, message: unknown, idempotencyKey?: string) => t.askAgent(type, id, tag, message, idempotencyKey), { runTool })
}

/** Runs the loop over a `TurnSteps`; the journal bookkeeping (header, reset) is the caller's. */
export async function runTurnLoop(t: RunTurnInput): Promise<TurnResult> {
  const maxSteps = t.spec.maxSteps ?? 8
  const tools = new Map((t.spec.tools ?? []).map((x) => [x.name, x]))
  const specs = specsOf(t.spec.tools)
  const base: ChatMessage[] = t.spec.system ? [{ role: "system", content: t.spec.system }] : []
  const added: ChatMessage[] = [{ role: "user", content: t.input }]
  const messages = () => [...base, ...t.history, ...added]
  let seq = 0
  let input = 0
  let output = 0
  let cost = 0
  let offline = false
  const result = (text: string, modelSteps: number, handoff?: TurnResult["handoff"]): TurnResult => ({
    turn: t.turn,
    text,
    messages: added,
    modelSteps,
    resumed: t.steps.resumed(),
    usage: { inputTokens: input, outputTokens: output },
    costUsd: cost,
    offline,
    handoff,
  })
  for (let step = 0; step < maxSteps; step++) {
    const request: ModelRequest = { messages: messages(), tools: specs.length > 0 ? specs : undefined, maxTokens: t.spec.maxTokens }
    const answer = await t.steps.model(seq++, request, digestRequest(request))
    input += answer.usage.inputTokens
    output += answer.usage.outputTokens
    cost += answer.costUsd
    offline ||= answer.offline
    added.push(answer.toolCalls.length > 0 ? { role: "assistant", content: answer.content, toolCalls: answer.toolCalls } : { role: "assistant", content: answer.content })
    if (answer.toolCalls.length === 0) return result(answer.content, step + 1)
    for (const call of answer.toolCalls) {
      const mySeq = seq++
      const key = `${t.address.tenant}/${t.address.type}/${t.address.id}/${t.turn}/${mySeq}`
      const tool = tools.get(call.name)
      // traced: a tool that runs (not one replayed from the journal) is an `execute_tool` span
      const out = await t.steps.tool(mySeq, call, key, () => traceToolCall(call.name, call.id, async () => {
        if (!tool) {
          t.onToolDecision?.(mySeq, call, "unknown")
          return { ok: false, result: `no tool named "${call.name}"; the tools are: ${[...tools.keys()].join(", ") || "none"}` }
        }
        let args = tool.decode(call.arguments)
        if (Either.isLeft(args)) {
          t.onToolDecision?.(mySeq, call, "invalid", args.left.message)
          return { ok: false, result: args.left.message }
        }
        const verdict = await t.gate?.({ caller: t.address, turn: t.turn, seq: mySeq, tool: call.name, impact: tool.impact ?? "low", arguments: args.right, idempotencyKey: key, history: messages(), ...(t.resume ? { resume: t.resume } : {}) })
        // held: thrown, so nothing is journaled for this call and the resumed turn asks the gate again
        if (verdict && !verdict.run && verdict.held !== undefined) throw new TurnHeldError(verdict.result, t.turn, verdict.held)
        if (verdict && !verdict.run) return { ok: false, result: verdict.result }
        if (verdict?.arguments !== undefined) args = tool.decode(verdict.arguments)
        if (Either.isLeft(args)) return { ok: false, result: `the approver's arguments do not fit: ${args.left.message}` }
        t.onToolDecision?.(mySeq, call, "run")
        try {
          return { ok: true, result: (await tool.run(args.right, { idempotencyKey: key, caller: t.address, askAgent: gatedRunTool(t, call.name, key, messages), history: messages() })) ?? null }
        } catch (e) {
          const err = e as { code?: string; message?: string }
          return { ok: false, result: `${call.name} failed: ${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}` }
        }
      }))
      added.push({ role: "tool", toolCallId: call.id, name: call.name, content: out.ok ? resultText(out.result) : JSON.stringify({ error: out.result }) })
      if (tool?.handoff && out.ok) {
        const v = out.result as { text?: unknown } | null
        const text = v !== null && typeof v === "object" && typeof v.text === "string" ? v.text : resultText(out.result)
        added.push({ role: "assistant", content: text })
        const id = (call.arguments as { id?: unknown })?.id
        return result(text, step + 1, { agent: tool.handoff.agent, id: typeof id === "string" ? id : "" })
      }
    }
  }
  throw new TurnError(`turn ${t.turn} of ${t.address.type}/${t.address.id} reached its limit of ${maxSteps} model calls without an answer`, "step_limit")
}

/** The JSON Schema request for a structured answer, and its decoder. */
export function structuredOutput<A, I>(schema: Schema.Schema<A, I>, name = "answer"): { request: NonNullable<ModelRequest["jsonSchema"]>; decode: (text: string) => A } {
  const js = { ...(JSONSchema.make(schema) as unknown as Record<string, unknown>) }
  delete js.$schema
  const decode = Schema.decodeUnknownSync(schema)
  return {
    request: { name, schema: js },
    decode(text) {
      let parsed: unknown
      try {
        parsed = JSON.parse(text.trim().replace(/^```(?:json)?\s*|\s*```$/g, ""))
      } catch {
        throw new TurnError(`the model's answer is not JSON: ${text.slice(0, 200)}`, "invalid_output")
      }
      try {
        return decode(parsed)
      } catch (e) {
        throw new TurnError(`the model's answer does not fit the output schema: ${(e as Error).message}`, "invalid_output")
      }
    },
  }
}
