/**
 * The models layer assembled: router, cost ledger and turn journal, and the per-actor client
 * the engine hands to handlers as `ctx.model`. Everything an agent does with a model goes
 * through `ModelClient`: a chat call (messages, tools, an optional output Schema, streaming)
 * or a whole durable turn. Each call holds its estimated cost against the caller's budgets
 * before it starts (budget.ts); its real cost is spent and recorded after it.
 */
import type * as Schema from "effect/Schema"
import type { ActorAddress } from "../../subjects/grammar.ts"
import { modelStreamSubject } from "../../subjects/models.ts"
import type { Clock } from "./circuit-breaker.ts"
import { resolveModels, type ModelsConfig, type ResolveOptions } from "./config.ts"
import { applyPolicy, transcript, type ConversationPolicy } from "./conversation.ts"
import { limitsOf, type BudgetStore } from "./budget.ts"
import { CostLedger, WRITTEN, type CostStore } from "./cost.ts"
import { guardedJournal, memoryTurnJournal, type TurnJournal, type TurnMeta } from "./journal.ts"
import { Router, type RouteOptions } from "./router.ts"
import type { StatsSharing } from "./stats.ts"
import { ModelDeniedError } from "./errors.ts"
import type { AskAgent, ModelGate, Tool, ToolGate, TurnResume } from "./tools.ts"
import { hashText, journaledSteps, runTurnLoop, structuredOutput, type TurnResult, type TurnSpec } from "./turn.ts"
import type { ChatMessage, ModelAnswer, ModelRequest, StreamDelta } from "./types.ts"

export interface ChatOptions<A = unknown> {
  readonly system?: string
  /** Tools the model may ask for; `chat` returns the calls, `turn` runs them. */
  readonly tools?: ReadonlyArray<Tool>
  /** A Schema the answer must fit: the model is asked for JSON and the answer decoded into `output`. */
  readonly output?: Schema.Schema<A, any>
  readonly model?: string
  readonly capabilities?: ReadonlyArray<string>
  readonly maxCostUsd?: number
  readonly maxTokens?: number
  readonly temperature?: number
  /** Streams the answer: called for each delta. */
  readonly onDelta?: (delta: StreamDelta) => void
  /** Aborts the call. Default: the client's (an actor's `ctx.model`: its handler's `ctx.signal`). */
  readonly signal?: AbortSignal
}

export interface ChatAnswer<A = unknown> extends ModelAnswer {
  readonly output?: A
}

export interface TurnOptions extends TurnSpec {
  /** The turn's id, unique per actor (a conversational agent uses its turn counter). */
  readonly turn: string
  readonly history?: ReadonlyArray<ChatMessage>
  /**
   * Messages the model sees after `history` for this turn only, such as memories recalled for
   * it. Recorded with the turn: the same turn started again (same id, input and history)
   * resumes with the context it had the first time, whatever a new recall finds.
   */
  readonly context?: ReadonlyArray<ChatMessage>
  readonly onDelta?: (delta: StreamDelta) => void
  /**
   * Lets the turn end while a human decides one of its tool calls: it rejects with
   * `TurnHeldError` (the approval's id) instead of waiting, and the decision tells this actor
   * `tag` with `message`; the same turn started again (same id, input and history) resumes.
   * Without it, the turn waits for the decision inside the call.
   */
  readonly resume?: TurnResume
}

export interface ModelClient {
  /** One routed model call. */
  chat<A = unknown>(input: string | ReadonlyArray<ChatMessage>, options?: ChatOptions<A>): Promise<ChatAnswer<A>>
  /** A whole durable turn: model → tools → model → answer, journaled step by step. */
  turn(input: string, options: TurnOptions): Promise<TurnResult>
  /** Applies a conversation policy, summarising through the model when the policy says so. */
  compact(messages: ReadonlyArray<ChatMessage>, policy: ConversationPolicy, turn?: string): Promise<ChatMessage[]>
  /**
   * A sink for a streamed answer: deltas published on ants.<tenant>.stream.<streamId> as
   * `{"seq","delta"}`, then `{"seq","done":true,"text"}` (or `"error"`) from `end`.
   */
  stream(streamId: string): StreamSink
  /** True when only the offline provider answers. */
  readonly offline: boolean
}

export interface StreamSink {
  readonly onDelta: (delta: StreamDelta) => void
  end(result: { text: string } | { error: string }): void
}

/** The port through which stream deltas leave: the engine fills it with a NATS publish. */
export type PublishPort = (subject: string, data: Uint8Array) => void

export interface ModelsOptions extends ResolveOptions {
  /** A resolved configuration (else resolved from `file`, `env` and `providers`). */
  readonly config?: ModelsConfig
  readonly clock?: Clock
  readonly sharing?: StatsSharing
  readonly journal?: TurnJournal
  readonly costs?: CostStore
  /** Where budget counters live (default: in this process). */
  readonly budgets?: BudgetStore
  /** Names this node's holds on budgets. */
  readonly nodeId?: string
  readonly maxAttempts?: number
  readonly maxWaitMs?: number
  readonly cooldownMs?: number
  /** Consulted before every tool call of a turn (the node fills it with governance's policy and approvals). */
  readonly gate?: ToolGate
  /** Consulted before every model call (policy over model use and spending): names the deployments it refuses. */
  readonly modelGate?: ModelGate
}

export interface Models {
  readonly config: ModelsConfig
  readonly router: Router
  readonly ledger: CostLedger
  readonly journal: TurnJournal
  readonly offline: boolean
  /** Said once at start-up. */
  readonly announcement: string
  /** The client an actor's handlers see as `ctx.model`; `signal` gives the signal its calls honour unless they name one (the handler's). */
  client(address: ActorAddress, askAgent: AskAgent, publish?: PublishPort, signal?: () => AbortSignal | undefined): ModelClient
  close(): void
}

const encoder = new TextEncoder()

/**
 * The summary step number of a turn's conversation compacted after its last step (`compact`
 * with the turn's id): past any model step a turn can have, so it is kept, read and reset with
 * the turn's other summaries.
 */
export const COMPACTION_SEQ = 1_000_000

function historyHash(h: ReadonlyArray<ChatMessage>): string {
  return hashText(JSON.stringify(h))
}

/** A recorded turn's conversation: its history without the context recalled for it. */
function conversationOf(meta: TurnMeta): ReadonlyArray<ChatMessage> {
  return meta.context ? meta.history.slice(0, meta.history.length - meta.context) : meta.history
}

export function createModels(options: ModelsOptions = {}): Models {
  const config = options.config ?? resolveModels(options)
  const router = new Router({ config, clock: options.clock, sharing: options.sharing, maxAttempts: options.maxAttempts, maxWaitMs: options.maxWaitMs, cooldownMs: options.cooldownMs, nodeId: options.nodeId })
  const ledger = new CostLedger(config.budgets, options.costs, options.budgets, options.nodeId)
  const journal = guardedJournal(options.journal ?? memoryTurnJournal())

  function client(address: ActorAddress, askAgent: AskAgent, publish?: PublishPort, signal?: () => AbortSignal | undefined): ModelClient {
    const budgeted = limitsOf(config.budgets, address).length > 0
    /**
     * One routed call, its spend recorded. With `spending` (a turn's calls), the spend of an actor
     * no budget limits is written while the turn goes on (its answer is journaled meanwhile, one
     * round trip to the store less per model call) and handed to `spending`, which the turn
     * waits for before it ends.
     */
    const call = async (req: ModelRequest, route: RouteOptions, spending?: (write: Promise<void>) => void, turnSpentUsd?: number): Promise<ModelAnswer> => {
      const s = route.signal ?? signal?.()
      // the route as given when it names this actor's type and signal already (chat's does): no copy per call
      let routed: RouteOptions = route.type === address.type && route.signal === s ? route : s ? { ...route, type: address.type, signal: s } : { ...route, type: address.type }
      if (options.modelGate) {
        // before the call: policy sees every deployment the router could use, and may refuse some
        const candidates = router.rank(req, routed).ranked.map((r) => ({ deployment: r.deployment, provider: router.deployment(r.deployment)?.provider ?? "", estimatedUsd: r.estimatedCostUsd }))
        const { deny, reason } = await options.modelGate({ caller: address, model: route.model, candidates, ...(turnSpentUsd !== undefined ? { turnSpentUsd } : {}) })
        if (deny.length > 0 && candidates.length > 0 && candidates.every((c) => deny.includes(c.deployment))) {
          throw new ModelDeniedError(`the tenant's policy refuses this model call: ${reason ?? "every eligible model is denied"}`)
        }
        if (deny.length > 0) routed = { ...routed, deny: [...(routed.deny ?? []), ...deny] }
      }
      // an actor no budget limits takes no hold (no estimate, no counter, no wait)
      const hold = budgeted ? await ledger.hold(address, () => router.estimateUsd(req, routed)) : undefined
      let answer: ModelAnswer
      try {
        answer = await router.call(req, routed)
      } catch (e) {
        await hold?.release().catch(() => undefined)
        throw e
      }
      if (hold) await Promise.all([hold.settle(answer.costUsd), ledger.record(address, answer.usage, answer.costUsd)])
      else if (spending) spending(ledger.record(address, answer.usage, answer.costUsd))
      else {
        const written = ledger.record(address, answer.usage, answer.costUsd)
        // a store that wrote at once (the in-memory one) is not awaited: one hop less per call
        if (written !== WRITTEN) await written
      }
      return answer
    }
    const self: ModelClient = {
      offline: config.offline,
      stream(streamId) {
        const subject = modelStreamSubject(address.tenant, streamId)
        let seq = 0
        const send = (o: Record<string, unknown>) => publish?.(subject, encoder.encode(JSON.stringify({ seq: seq++, ...o })))
        return {
          onDelta: (delta) => send({ delta }),
          end: (r) => send("error" in r ? { done: true, error: r.error } : { done: true, text: r.text }),
        }
      },
      chat<A>(input: string | ReadonlyArray<ChatMessage>, o: ChatOptions<A> = {}): Promise<ChatAnswer<A>> {
        try {
          const messages: ChatMessage[] = typeof input === "string" ? [{ role: "user", content: input }] : [...input]
          if (o.system) messages.unshift({ role: "system", content: o.system })
          const structured = o.output ? structuredOutput(o.output) : undefined
          const req: ModelRequest = {
            messages,
            tools: o.tools && o.tools.length > 0 ? o.tools.map((t) => t.spec) : undefined,
            maxTokens: o.maxTokens,
            temperature: o.temperature,
            jsonSchema: structured?.request,
          }
          const answer = call(req, { type: address.type, model: o.model, capabilities: o.capabilities, maxCostUsd: o.maxCostUsd, onDelta: o.onDelta, signal: o.signal ?? signal?.() })
          // a plain call hands on the routed call's own promise (no async layer of its own per call)
          if (!structured) return answer as Promise<ChatAnswer<A>>
          return answer.then((a) => (a.toolCalls.length > 0 ? (a as ChatAnswer<A>) : { ...a, output: structured.decode(a.content) }))
        } catch (e) {
          return Promise.reject(e)
        }
      },
      async turn(input, o) {
        const own = o.history ?? []
        const context = o.context ?? []
        let history = context.length > 0 ? [...own, ...context] : own
        const fresh: TurnMeta = { turn: o.turn, address, input, history, ...(context.length > 0 ? { context: context.length } : {}), status: "open", startedAt: new Date().toISOString() }
        // one write for a new turn; a turn that has a header already is a resumption (or another question)
        const meta = await journal.open(fresh)
        let recorded: Awaited<ReturnType<TurnJournal["steps"]>> = []
        if (meta && meta.input === input && historyHash(conversationOf(meta)) === historyHash(own)) {
          recorded = await journal.steps(address, o.turn)
          // resumed with what the model saw the first time (its recalled context included)
          history = meta.history
        } else if (meta) {
          // Same turn id, another question: what was recorded answers something else.
          await journal.reset(address, o.turn)
          await journal.setMeta(fresh)
        }
        const route: RouteOptions = { ...o.route, onDelta: o.onDelta }
        // spend writes in flight, each with its failure caught at once (none may go unhandled)
        const spent: Array<Promise<unknown>> = []
        let spendFailure: unknown
        const spending = (w: Promise<void>) => void spent.push(w.catch((e: unknown) => (spendFailure ??= e)))
        // what the turn's model calls have cost so far (recorded ones too): policy may limit a turn's spend
        let turnSpentUsd = recorded.reduce((n, st) => n + (st.kind === "model" ? st.answer.costUsd : 0), 0)
        const steps = journaledSteps({
          journal,
          address,
          turn: o.turn,
          recorded,
          summarise: route.summarise,
          call: async (req, summarise) => {
            const answer = await call(req, { ...route, summarise }, spending, turnSpentUsd)
            turnSpentUsd += answer.costUsd
            return answer
          },
        })
        try {
          const r = await runTurnLoop({ spec: o, address, turn: o.turn, history, input, steps, askAgent, onDelta: o.onDelta, gate: options.gate, ...(o.resume ? { resume: o.resume } : {}) })
          // A turn that ended on a model answer is done by its last step (journal.ts: settledMeta):
          // no second write of its header (and of the history in it). A handoff ends on a tool
          // step, which does not say so: its header is written done.
          const done = r.handoff !== undefined ? journal.setMeta({ ...(meta ?? fresh), status: "done", finishedAt: new Date().toISOString(), answer: r.text, steps: r.modelSteps }) : undefined
          await Promise.all(done ? [done, ...spent] : spent)
          if (spendFailure !== undefined) throw spendFailure
          return r
        } catch (e) {
          await Promise.all(spent)
          // Kept open: a retry of the same turn resumes from what was recorded.
          await journal.setMeta({ ...(meta ?? fresh), error: (e as Error)?.message ?? String(e) }).catch(() => undefined)
          throw e
        }
      },
      async compact(messages, policy, turn) {
        return applyPolicy(messages, policy, async (dropped) => {
          // after a turn, its summary is journaled with it: the turn finished again (its node was
          // lost before the actor's state was stored) takes the recorded one, no second model call
          const had = turn === undefined ? undefined : await journal.summary(address, turn, COMPACTION_SEQ)
          if (had) return had.messages[0]?.content ?? ""
          const a = await call(
            { messages: [{ role: "system", content: "Summarise this conversation in a few sentences, keeping names, numbers and decisions." }, { role: "user", content: transcript(dropped) }], maxTokens: 300 },
            {},
          )
          if (turn === undefined) return a.content
          const kept = await journal.recordSummary(address, turn, { seq: COMPACTION_SEQ, messages: [{ role: "system", content: a.content }], at: new Date().toISOString() })
          return kept.messages[0]?.content ?? a.content
        })
      },
    }
    return self
  }

  return {
    config,
    router,
    ledger,
    journal,
    offline: config.offline,
    announcement: config.announcement,
    client,
    close: () => router.close(),
  }
}
