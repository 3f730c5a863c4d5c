/**
 * The model router: picks a deployment for each call by score (see score.ts), follows the
 * fallback chain when a deployment fails, and is the only retry loop (the SDKs' retries are
 * off). What it does per failure kind:
 *
 *   rate_limited (429), overloaded (529/503)  cool the deployment down until Retry-After (else
 *                                             1 s, doubling per repeat, at most 60 s) for every
 *                                             call on this node, then try the next deployment;
 *                                             when all are cooling, wait for the first to come
 *                                             back (up to `maxWaitMs`, default 30 s)
 *   server, timeout, malformed                count against the deployment's circuit breaker
 *                                             and try the next deployment
 *   context (the prompt does not fit)         only deployments with a larger context; when none,
 *                                             the declared summarising step, else ContextOverflowError
 *   refused (400/401/403/404)                 try the next deployment
 *
 * A per-request cost budget removes deployments whose estimated cost exceeds it
 * (BudgetExceededError when none is left). Every result teaches the router latency, success
 * and answer length (moving averages, shared across nodes through a `StatsSharing` port).
 */
import { CircuitBreaker, systemClock, type Clock } from "./circuit-breaker.ts"
import type { Deployment, ModelsConfig } from "./config.ts"
import { BudgetExceededError, ContextOverflowError, ModelUnavailableError, ProviderError, type ProviderErrorKind } from "./errors.ts"
import { estimateTokens } from "./offline-provider.ts"
import { score, type ScoreParts } from "./score.ts"
import { atRateLimit, DeploymentStats, rateLoad, type StatsSharing } from "./stats.ts"
import type { ChatMessage, ModelAnswer, ModelRequest, StreamDelta } from "./types.ts"
import { endModelSpan, startModelSpan } from "../observability/genai-spans.ts"
import { countModelCallOn, modelUsageRow, type ModelUsageRow } from "../observability/usage.ts"

export interface RouterOptions {
  readonly config: ModelsConfig
  readonly clock?: Clock
  readonly sharing?: StatsSharing
  /** Attempts (model calls) per routed call, default 6. */
  readonly maxAttempts?: number
  /** How long a call may wait for a cooling deployment, default 30 000 ms. */
  readonly maxWaitMs?: number
  /** Cooldown after a 429/529 without Retry-After, default 1000 ms (doubling per repeat). */
  readonly cooldownMs?: number
  /** The node whose `/metrics` count this router's calls (runtime/observability/usage.ts). */
  readonly nodeId?: string
}

export interface RouteOptions {
  /** The calling agent's type: selects its routing rule. */
  readonly type?: string
  /** Capabilities this call needs beyond what the request implies (tools, json). */
  readonly capabilities?: ReadonlyArray<string>
  /** Ask for this deployment first; the fallback chain still applies. */
  readonly model?: string
  /** Deployments this call may not use (the tenant's policy refused them). */
  readonly deny?: ReadonlyArray<string>
  /** Cost budget of this one call, USD. */
  readonly maxCostUsd?: number
  readonly onDelta?: (delta: StreamDelta) => void
  readonly signal?: AbortSignal
  readonly timeoutMs?: number
  readonly maxWaitMs?: number
  /** The declared summarising step for prompts too large for every model: returns shorter messages. */
  readonly summarise?: (messages: ReadonlyArray<ChatMessage>) => Promise<ReadonlyArray<ChatMessage>>
}

export interface Ranked {
  readonly deployment: string
  readonly score: ScoreParts
  readonly estimatedCostUsd: number
}

const toolTokens = new WeakMap<ReadonlyArray<unknown>, number>()

/** Tokens a request will take, estimated (about four characters a token). */
export function estimateRequestTokens(req: ModelRequest): number {
  let n = 0
  for (const m of req.messages) {
    n += estimateTokens(m.content) + 4
    if (m.role === "assistant") for (const c of m.toolCalls ?? []) n += estimateTokens(JSON.stringify(c.arguments ?? null)) + 8
  }
  if (req.tools) {
    let t = toolTokens.get(req.tools)
    if (t === undefined) toolTokens.set(req.tools, (t = estimateTokens(JSON.stringify(req.tools))))
    n += t
  }
  return n
}

export function costUsd(d: Deployment, inputTokens: number, outputTokens: number): number {
  return (inputTokens * d.price.input + outputTokens * d.price.output) / 1_000_000
}

/** A deployment eligible for a request, with its estimated cost and what is known of it. */
type Candidate = { readonly s: Slot; readonly est: number; readonly b: ReturnType<DeploymentStats["blended"]> }

interface Slot {
  readonly d: Deployment
  readonly stats: DeploymentStats
  readonly breaker: CircuitBreaker
  cooldownUntil: number
  cooldowns: number
  publishedAt: number
  /** This deployment's row of the node's model usage counters (found on the first call). */
  usage?: ModelUsageRow
}

/** The attempts of a call answered at its first try: none failed. */
const NO_ATTEMPTS: ReadonlyArray<{ deployment: string; error: string }> = Object.freeze([])

/** Whether `have` holds every one of `want` (a loop: this runs per deployment on every call). */
function hasAll(have: ReadonlyArray<string>, want: ReadonlyArray<string>): boolean {
  for (let i = 0; i < want.length; i++) if (!have.includes(want[i])) return false
  return true
}

/** How soon a call waiting on deployments that are all at their rate limits looks again. */
const LIMIT_RECHECK_MS = 100

const BREAKER_KINDS: ReadonlySet<ProviderErrorKind> = new Set(["rate_limited", "overloaded", "server", "timeout", "malformed"])

export class Router {
  private readonly slots = new Map<string, Slot>()
  private readonly list: Slot[] = []
  private readonly clock: Clock
  private readonly stopSharing: (() => void) | undefined
  private readonly wantedByType = new Map<string, Array<ReadonlyArray<string> | undefined>>()

  constructor(private readonly options: RouterOptions) {
    this.clock = options.clock ?? systemClock
    for (const d of options.config.deployments) {
      this.slots.set(d.name, {
        d,
        stats: new DeploymentStats(),
        breaker: new CircuitBreaker({ ...options.config.breaker, clock: this.clock }),
        cooldownUntil: 0,
        cooldowns: 0,
        publishedAt: 0,
      })
    }
    this.list.push(...this.slots.values())
    this.stopSharing = options.sharing?.subscribe((deployment, node, snap) => this.slots.get(deployment)?.stats.remote.set(node, snap))
  }

  get config(): ModelsConfig {
    return this.options.config
  }

  deployment(name: string): Deployment | undefined {
    return this.slots.get(name)?.d
  }

  stats(name: string): DeploymentStats | undefined {
    return this.slots.get(name)?.stats
  }

  breaker(name: string): CircuitBreaker | undefined {
    return this.slots.get(name)?.breaker
  }

  cooldownUntil(name: string): number {
    return this.slots.get(name)?.cooldownUntil ?? 0
  }

  close(): void {
    this.stopSharing?.()
  }

  /**
   * The capabilities a request wants. When the call names none, kept per type and request shape
   * (tools, json: four shapes in a small array per type, no key built per call; read-only).
   */
  private wanted(req: ModelRequest, o: RouteOptions): ReadonlyArray<string> {
    const tools = req.tools !== undefined && req.tools.length > 0
    const json = req.jsonSchema !== undefined
    const plain = o.capabilities === undefined || o.capabilities.length === 0
    const shape = (tools ? 1 : 0) + (json ? 2 : 0)
    let kept: Array<ReadonlyArray<string> | undefined> | undefined
    if (plain) {
      const type = o.type ?? ""
      kept = this.wantedByType.get(type)
      const had = kept?.[shape]
      if (had !== undefined) return had
      if (kept === undefined && this.wantedByType.size < 1024) this.wantedByType.set(type, (kept = [undefined, undefined, undefined, undefined]))
    }
    const rule = o.type ? this.options.config.rules[o.type] : undefined
    const w = new Set<string>(["chat", ...(o.capabilities ?? []), ...(rule?.capabilities ?? [])])
    if (tools) w.add("tools")
    if (json) w.add("json")
    const out = [...w]
    if (kept !== undefined) kept[shape] = out
    return out
  }

  /** The clock is read only for a deployment with rate limits. */
  private load(s: Slot): number {
    return s.d.rateLimit ? rateLoad(s.d.rateLimit, s.stats, this.clock.now()) : 0
  }

  /** The eligible deployments for a request, best first (fallback chain applied), or why there are none. */
  rank(req: ModelRequest, o: RouteOptions = {}, minContext = estimateRequestTokens(req)): { ranked: Ranked[]; none?: "capability" | "context" | "budget" } {
    const e = this.eligible(req, o, minContext)
    if (e.none !== undefined) return { ranked: [], none: e.none }
    return { ranked: this.ordered(e.cands, e.wanted, o) }
  }

  /** The deployments a request may go to (capabilities, rules, denials, context, budget), unordered, or why none may. */
  private eligible(req: ModelRequest, o: RouteOptions, minContext: number): { cands: Candidate[]; wanted: ReadonlyArray<string>; none?: "capability" | "context" | "budget" } {
    const config = this.options.config
    const rule = o.type ? config.rules[o.type] : undefined
    const wanted = this.wanted(req, o)
    const budget = o.maxCostUsd ?? rule?.maxCostPerRequestUsd ?? config.budgets.request
    const maxOut = req.maxTokens ?? 1024
    // One pass over the deployments (this runs on every model call: no intermediate maps).
    const cands: Candidate[] = []
    let capable = 0
    let fitting = 0
    for (const s of this.list) {
      if (!hasAll(s.d.capabilities, wanted)) continue
      if (rule?.only && !rule.only.includes(s.d.name)) continue
      if (rule?.exclude && rule.exclude.includes(s.d.name)) continue
      if (o.deny && o.deny.includes(s.d.name)) continue
      capable++
      if (s.d.contextTokens < minContext) continue
      fitting++
      const b = s.stats.blended()
      const est = costUsd(s.d, minContext, Math.min(maxOut, b.outputTokens))
      if (budget !== undefined && est > budget) continue
      cands.push({ s, est, b })
    }
    return { cands, wanted, none: capable === 0 ? "capability" : fitting === 0 ? "context" : cands.length === 0 ? "budget" : undefined }
  }

  /** Eligible deployments scored and put in order: pinned model, preferred, best score, fallback chain, the rest. */
  private ordered(cands: ReadonlyArray<Candidate>, wanted: ReadonlyArray<string>, o: RouteOptions): Ranked[] {
    const config = this.options.config
    const rule = o.type ? config.rules[o.type] : undefined
    let cheapest = Infinity
    let fastest: number | undefined
    for (const c of cands) {
      if (c.est < cheapest) cheapest = c.est
      const l = c.b.latencyMs
      if (l !== undefined && l > 0 && (fastest === undefined || l < fastest)) fastest = l
    }
    const scored: Ranked[] = cands.map((c) => ({
      deployment: c.s.d.name,
      estimatedCostUsd: c.est,
      score: score({
        capabilities: c.s.d.capabilities,
        wanted,
        estimatedCostUsd: c.est,
        cheapestCostUsd: cheapest,
        latencyMs: c.b.latencyMs,
        fastestLatencyMs: fastest,
        success: c.b.success,
        load: this.load(c.s),
      }),
    }))
    if (scored.length > 1) scored.sort((a, b) => b.score.total - a.score.total || (a.deployment < b.deployment ? -1 : 1))
    const chain = rule?.fallback ?? config.fallback
    if (scored.length === 1 || (!o.model && !rule?.prefer && chain.length === 0)) return scored
    const byName = (name: string) => scored.find((r) => r.deployment === name)
    const order: Ranked[] = []
    const add = (r: Ranked | undefined) => {
      if (r && !order.includes(r)) order.push(r)
    }
    // A pinned model first, then the type's preferred ones in their order, then the best score,
    // then the fallback chain in its order, then the rest by score.
    if (o.model) add(byName(o.model))
    for (const name of rule?.prefer ?? []) add(byName(name))
    add(scored[0])
    for (const name of chain) add(byName(name))
    for (const r of scored) add(r)
    return order
  }

  /** The estimated cost of a request on the deployment it would go to first (0 when none fits). */
  estimateUsd(req: ModelRequest, o: RouteOptions = {}): number {
    return this.rank(req, o).ranked[0]?.estimatedCostUsd ?? 0
  }

  /** Routes one model call: the best deployment, then the fallbacks, until one answers. */
  async call(req: ModelRequest, o: RouteOptions = {}): Promise<ModelAnswer> {
    const maxAttempts = this.options.maxAttempts ?? 6
    // one clock reading serves the first attempt's choice and start (the call's wait is counted from it)
    const begun = this.clock.now()
    const deadline = begun + (o.maxWaitMs ?? this.options.maxWaitMs ?? 30_000)
    let first = true
    // made on the first failure: a call answered at its first attempt allocates none of them
    let attempts: Array<{ deployment: string; error: string }> | undefined
    let tried: Set<string> | undefined
    /** Tried deployments that failed for load (429/529): worth waiting for. */
    let cooling: Set<string> | undefined
    let request = req
    let minContext = estimateRequestTokens(request)
    let summarised = false
    let lastKind: ProviderErrorKind | undefined
    while ((attempts?.length ?? 0) < maxAttempts) {
      const now = first ? begun : this.clock.now()
      first = false
      const { cands, wanted, none } = this.eligible(request, o, minContext)
      if (none === "context") {
        if (o.summarise && !summarised) {
          summarised = true
          request = { ...request, messages: await o.summarise(request.messages) }
          minContext = estimateRequestTokens(request)
          continue
        }
        throw new ContextOverflowError(`the prompt (about ${minContext} tokens) fits no eligible model's context, and no summarising step is declared`, minContext)
      }
      if (none === "budget") {
        const limit = o.maxCostUsd ?? (o.type ? this.options.config.rules[o.type]?.maxCostPerRequestUsd : undefined) ?? this.options.config.budgets.request ?? 0
        throw new BudgetExceededError(`no eligible model can answer this request within its budget of $${limit}`, "request", limit, 0)
      }
      if (none === "capability") {
        throw new ModelUnavailableError(`no configured model has the capabilities ${this.wanted(request, o).join(", ")}${o.type ? ` allowed for type "${o.type}"` : ""}`, attempts ?? [], lastKind)
      }
      // one eligible deployment is its own order: no scores to compute
      const ranked: ReadonlyArray<Slot> = cands.length === 1 ? [cands[0].s] : this.ordered(cands, wanted, o).map((r) => this.slots.get(r.deployment)!)
      let slot: Slot | undefined
      for (const s of ranked) {
        if (!tried?.has(s.d.name) && s.cooldownUntil <= now && s.breaker.canPass() && !atRateLimit(s.d.rateLimit, s.stats, now)) {
          slot = s
          break
        }
      }
      if (slot === undefined) {
        // Every eligible deployment failed this call or is resting: wait for the first to rest out.
        let wake = Infinity
        for (const s of ranked) {
          // A deployment that failed this call for another reason than load is not waited for.
          if (tried?.has(s.d.name) && !cooling?.has(s.d.name)) continue
          // one at its rate limit is looked at again shortly (a call ends, the minute moves on)
          const at = Math.max(s.cooldownUntil, s.breaker.state === "open" ? s.breaker.retryAt : 0, atRateLimit(s.d.rateLimit, s.stats, now) ? now + LIMIT_RECHECK_MS : 0)
          wake = Math.min(wake, at)
        }
        if (wake === Infinity || wake > deadline) {
          const why = wake === Infinity ? "every eligible model failed" : `every eligible model is resting until ${new Date(wake).toISOString()}, past this call's wait`
          throw new ModelUnavailableError(`${why} (${attempts?.map((a) => `${a.deployment}: ${a.error}`).join("; ") || "no attempt"})`, attempts ?? [], lastKind)
        }
        await this.clock.sleep(wake - now)
        for (const name of cooling ?? []) {
          if (this.slots.get(name)!.cooldownUntil <= this.clock.now()) {
            tried?.delete(name)
            cooling?.delete(name)
          }
        }
        continue
      }
      if (!slot.breaker.acquire()) continue
      const provider = this.options.config.providers.get(slot.d.provider)!
      const started = now
      slot.stats.inflight++
      const model = slot.d.model ?? slot.d.name
      // traced: one span per attempt, a child of the calling handler's turn (GenAI conventions)
      const span = startModelSpan({ system: provider.kind, provider: provider.name, model, deployment: slot.d.name, maxTokens: request.maxTokens, temperature: request.temperature, streaming: o.onDelta !== undefined })
      try {
        const answer = await provider.call(model, request, { onDelta: o.onDelta, signal: o.signal, timeoutMs: o.timeoutMs ?? slot.d.timeoutMs })
        const ended = this.clock.now()
        const latencyMs = ended - started
        slot.breaker.success()
        slot.cooldowns = 0
        this.learn(slot, true, latencyMs, answer.usage.outputTokens, ended)
        const cost = costUsd(slot.d, answer.usage.inputTokens, answer.usage.outputTokens)
        const out: ModelAnswer = {
          // field by field, not spread: one object shape on the hot path of every call
          content: answer.content,
          toolCalls: answer.toolCalls,
          finishReason: answer.finishReason,
          usage: answer.usage,
          model: answer.model,
          deployment: slot.d.name,
          provider: provider.name,
          offline: provider.offline,
          latencyMs,
          costUsd: cost,
          attempts: attempts ?? NO_ATTEMPTS,
        }
        if (span !== undefined) endModelSpan(span, out)
        countModelCallOn(slot.usage ??= modelUsageRow(this.options.nodeId, provider.name, slot.d.name), answer.usage, cost)
        return out
      } catch (e) {
        const pe: ProviderError = (e as { _tag?: string })._tag === "ProviderError" ? (e as ProviderError) : new ProviderError("server", `${provider.name}: ${(e as Error)?.message ?? String(e)}`, undefined, undefined, { cause: e })
        endModelSpan(span, undefined, pe)
        ;(slot.usage ??= modelUsageRow(this.options.nodeId, provider.name, slot.d.name)).failures++
        lastKind = pe.kind
        // the next attempt skips it (only a failed attempt is followed by another)
        ;(tried ??= new Set()).add(slot.d.name)
        ;(attempts ??= []).push({ deployment: slot.d.name, error: `${pe.kind}: ${pe.message}` })
        if (BREAKER_KINDS.has(pe.kind)) slot.breaker.failure()
        else slot.breaker.success()
        const ended = this.clock.now()
        this.learn(slot, !BREAKER_KINDS.has(pe.kind), ended - started, undefined, ended)
        if (pe.kind === "rate_limited" || pe.kind === "overloaded") {
          const base = this.options.cooldownMs ?? 1000
          const wait = pe.retryAfterMs ?? Math.min(60_000, base * 2 ** slot.cooldowns)
          slot.cooldowns++
          ;(cooling ??= new Set()).add(slot.d.name)
          slot.cooldownUntil = Math.max(slot.cooldownUntil, this.clock.now() + wait)
        } else if (pe.kind === "context") {
          minContext = Math.max(minContext, slot.d.contextTokens + 1)
        }
        if (o.signal?.aborted) throw new ModelUnavailableError(`call aborted (${pe.message})`, attempts, lastKind)
      } finally {
        slot.stats.inflight--
      }
    }
    throw new ModelUnavailableError(`no model answered in ${maxAttempts} attempts (${(attempts ?? []).map((a) => `${a.deployment}: ${a.error}`).join("; ")})`, attempts ?? [], lastKind)
  }

  private learn(slot: Slot, ok: boolean, latencyMs: number, outputTokens: number | undefined, now: number): void {
    slot.stats.record(ok, latencyMs, outputTokens, now)
    const sharing = this.options.sharing
    if (sharing && now - slot.publishedAt >= 1000) {
      slot.publishedAt = now
      sharing.publish(slot.d.name, slot.stats.snapshot(now))
    }
  }
}
