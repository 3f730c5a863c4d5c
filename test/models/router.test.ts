/**
 * The router over two real SDK providers and local fake servers: the score, cooldowns from
 * 429/529 honouring Retry-After, the fallback chain, the circuit breaker, context overflow,
 * per-request budgets, malformed answers, learning, and the offline provider.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CircuitBreaker, CostLedger, DeploymentStats, Router, memoryCostStore, resolveModels, score, type Clock, type ModelsFile, type StatsSnapshot } from "../../runtime/models/mod.ts"
import { startFakeAnthropic } from "../helpers/fake-anthropic.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import type { FakeServer } from "../../bench/fakes/fake-model-server.ts"

/** A clock tests move by hand; `sleep` advances it at once. */
function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let t = start
  return {
    now: () => t,
    sleep: async (ms) => {
      t += Math.max(0, ms)
    },
    advance: (ms) => {
      t += ms
    },
  }
}

const hi = { messages: [{ role: "user" as const, content: "hello" }] }

describe("router", () => {
  let oai: FakeServer
  let ant: FakeServer
  beforeAll(async () => {
    oai = await startFakeOpenAI()
    ant = await startFakeAnthropic()
  })
  afterAll(async () => {
    await oai.close()
    await ant.close()
  })

  function file(extra: Partial<ModelsFile> = {}): ModelsFile {
    return {
      providers: { oai: { kind: "openai", baseURL: `${oai.url}/v1` }, ant: { kind: "anthropic", baseURL: ant.url } },
      models: [
        { name: "gpt-small", provider: "oai", capabilities: ["chat", "tools"], contextTokens: 1000, price: { input: 1, output: 2 } },
        { name: "claude-small", provider: "ant", capabilities: ["chat", "tools"], contextTokens: 100_000, price: { input: 3, output: 15 } },
      ],
      ...extra,
    }
  }

  it("score - capability 40, cost 30, latency 20, success 10, load -10 above 80% and +5 below 30%", () => {
    const s = score({ capabilities: ["chat"], wanted: ["chat"], estimatedCostUsd: 2, cheapestCostUsd: 1, latencyMs: 200, fastestLatencyMs: 100, success: 0.5, load: 0.9 })
    expect(s).toMatchObject({ capability: 40, cost: 15, latency: 10, success: 5, load: -10 })
    expect(s.total).toBe(60)
    expect(score({ capabilities: [], wanted: ["chat", "tools"], estimatedCostUsd: 0, cheapestCostUsd: 0, latencyMs: undefined, fastestLatencyMs: undefined, success: 1, load: 0.1 }).total).toBe(0 + 30 + 10 + 10 + 5)
  })

  it("router - the cheaper deployment wins, and a per-type rule can prefer another", async () => {
    const router = new Router({ config: resolveModels({ file: file({ rules: { poet: { prefer: ["claude-small"] } } }), env: {} }) })
    expect(router.rank(hi).ranked[0].deployment).toBe("gpt-small")
    expect(router.rank(hi, { type: "poet" }).ranked[0].deployment).toBe("claude-small")
    const a = await router.call(hi, { type: "poet" })
    expect(a).toMatchObject({ deployment: "claude-small", provider: "ant", offline: false, content: "hello from fake anthropic" })
    expect(a.costUsd).toBeCloseTo((10 * 3 + 5 * 15) / 1e6, 12)
  })

  it("router - a 429 cools one provider down (Retry-After) and the call completes on the other", async () => {
    const router = new Router({ config: resolveModels({ file: file({ fallback: ["gpt-small", "claude-small"] }), env: {} }) })
    oai.respond(() => ({ status: 429, retryAfter: "30" }))
    ant.respond(() => ({ text: "from claude" }))
    const o0 = oai.count()
    const a0 = ant.count()
    const a = await router.call(hi)
    expect(a.content).toBe("from claude")
    expect(a.attempts).toHaveLength(1)
    expect(a.attempts[0].error).toMatch(/^rate_limited/)
    expect(router.cooldownUntil("gpt-small")).toBeGreaterThan(Date.now() + 25_000)
    // While it cools down, the next calls go straight to the other provider.
    await router.call(hi)
    await router.call(hi)
    expect(oai.count() - o0).toBe(1)
    expect(ant.count() - a0).toBe(3)
    oai.respond(() => ({ text: "hello from fake openai" }))
  })

  it("router - after the best-scored deployment fails, the fallback chain's order wins over the scores", async () => {
    const models = [...file().models, { name: "gpt-big", provider: "oai", capabilities: ["chat", "tools"], contextTokens: 100_000, price: { input: 30, output: 60 } }]
    const chained = new Router({ config: resolveModels({ file: file({ models, fallback: ["gpt-big", "claude-small"] }), env: {} }) })
    const scored = new Router({ config: resolveModels({ file: file({ models }), env: {} }) })
    // by score alone the dearest comes last; the chain puts it right after the best
    expect(scored.rank(hi).ranked.map((r) => r.deployment)).toEqual(["gpt-small", "claude-small", "gpt-big"])
    expect(chained.rank(hi).ranked.map((r) => r.deployment)).toEqual(["gpt-small", "gpt-big", "claude-small"])
    oai.respond((req) => (req.body.model === "gpt-small" ? { status: 500 } : { text: `from ${req.body.model}` }))
    ant.respond(() => ({ text: "from claude" }))
    const a = await chained.call(hi)
    expect(a).toMatchObject({ deployment: "gpt-big", content: "from gpt-big" })
    expect(a.attempts.map((x) => x.deployment)).toEqual(["gpt-small"])
    expect((await scored.call(hi)).deployment).toBe("claude-small")
    oai.respond(() => ({ text: "hello from fake openai" }))
    ant.respond(() => ({ text: "hello from fake anthropic" }))
  })

  it("router - a deployment at its declared rate limit is passed over until it is under it; when every one is, the call waits", async () => {
    const [gpt, claude] = file().models
    const clock = manualClock(Date.now())
    const rpm = new Router({ config: resolveModels({ file: file({ models: [{ ...gpt, rateLimit: { rpm: 2 } }, claude] }), env: {} }), clock })
    oai.respond(() => ({ text: "from gpt" }))
    ant.respond(() => ({ text: "from claude" }))
    const served: string[] = []
    for (let i = 0; i < 3; i++) served.push((await rpm.call(hi)).deployment)
    // the cheaper one while under 2 calls a minute, then the other
    expect(served).toEqual(["gpt-small", "gpt-small", "claude-small"])
    clock.advance(61_000)
    expect((await rpm.call(hi)).deployment).toBe("gpt-small")
    // one call at a time on each: of three at once, the third waits for one to end (no failure)
    const conc = new Router({ config: resolveModels({ file: file({ models: [{ ...gpt, rateLimit: { maxConcurrent: 1 } }, { ...claude, rateLimit: { maxConcurrent: 1 } }] }), env: {} }) })
    oai.respond(() => ({ text: "slow gpt", delayMs: 200 }))
    ant.respond(() => ({ text: "slow claude", delayMs: 200 }))
    const answers = await Promise.all([conc.call(hi), conc.call(hi), conc.call(hi)])
    expect(answers.map((a) => a.attempts.length)).toEqual([0, 0, 0])
    expect(answers.slice(0, 2).map((a) => a.deployment)).toEqual(["gpt-small", "claude-small"])
    oai.respond(() => ({ text: "hello from fake openai" }))
    ant.respond(() => ({ text: "hello from fake anthropic" }))
  })

  it("router - 529 overloaded switches provider the same way", async () => {
    const router = new Router({ config: resolveModels({ file: file(), env: {} }) })
    oai.respond(() => ({ status: 529 }))
    ant.respond(() => ({ text: "claude here" }))
    const a = await router.call(hi)
    expect(a.deployment).toBe("claude-small")
    expect(a.attempts[0].error).toMatch(/^overloaded/)
    expect(router.cooldownUntil("gpt-small")).toBeGreaterThan(Date.now())
    oai.respond(() => ({ text: "hello from fake openai" }))
  })

  it("router - when every deployment cools down, the call waits for the first to come back", async () => {
    const clock = manualClock()
    const router = new Router({ config: resolveModels({ file: file(), env: {} }), clock })
    let n = 0
    oai.respond(() => (++n === 1 ? { status: 429, retryAfter: "2" } : { text: "after the wait" }))
    ant.respond(() => ({ status: 429, retryAfter: "5" }))
    const t0 = clock.now()
    const a = await router.call(hi)
    expect(a.content).toBe("after the wait")
    expect(clock.now() - t0).toBeGreaterThanOrEqual(2000)
    expect(a.attempts.map((x) => x.deployment)).toEqual(["gpt-small", "claude-small"])
    oai.respond(() => ({ text: "hello from fake openai" }))
    ant.respond(() => ({ text: "hello from fake anthropic" }))
  })

  it("router - a cooldown longer than the call may wait is unavailable, not a hang", async () => {
    const clock = manualClock()
    const router = new Router({ config: resolveModels({ file: file(), env: {} }), clock, maxWaitMs: 1000 })
    oai.respond(() => ({ status: 429, retryAfter: "60" }))
    ant.respond(() => ({ status: 529, retryAfter: "60" }))
    await expect(router.call(hi)).rejects.toMatchObject({ _tag: "ModelUnavailableError", lastKind: "overloaded" })
    oai.respond(() => ({ text: "hello from fake openai" }))
    ant.respond(() => ({ text: "hello from fake anthropic" }))
  })

  it("router - 500s open a deployment's circuit after 5 failures; after 60 s one trial goes through", async () => {
    const clock = manualClock()
    const router = new Router({ config: resolveModels({ file: file(), env: {} }), clock })
    oai.respond(() => ({ status: 500 }))
    ant.respond(() => ({ text: "claude" }))
    for (let i = 0; i < 5; i++) expect((await router.call(hi, { model: "gpt-small" })).deployment).toBe("claude-small")
    expect(router.breaker("gpt-small")!.state).toBe("open")
    const before = oai.count()
    await router.call(hi, { model: "gpt-small" })
    expect(oai.count()).toBe(before)
    clock.advance(60_000)
    expect(router.breaker("gpt-small")!.state).toBe("half_open")
    oai.respond(() => ({ text: "back" }))
    expect((await router.call(hi, { model: "gpt-small" })).content).toBe("back")
    expect(router.breaker("gpt-small")!.state).toBe("closed")
    ant.respond(() => ({ text: "hello from fake anthropic" }))
  })

  it("router - a prompt too large for a model goes to a larger-context one, or to the summarising step", async () => {
    const router = new Router({ config: resolveModels({ file: file(), env: {} }) })
    const big = { messages: [{ role: "user" as const, content: "x".repeat(8000) }] }
    ant.respond(() => ({ text: "big ok" }))
    const before = oai.count()
    expect((await router.call(big)).deployment).toBe("claude-small")
    expect(oai.count()).toBe(before)
    // The provider itself says the prompt is too long: only larger models after that.
    oai.respond(() => ({ status: 400, text: "This model's maximum context length is 1000 tokens" }))
    expect((await router.call({ messages: [{ role: "user", content: "y".repeat(3000) }] }, { model: "gpt-small" })).deployment).toBe("claude-small")
    // Larger than every model: the declared summarising step shortens it.
    const huge = { messages: [{ role: "user" as const, content: "z".repeat(500_000) }] }
    await expect(router.call(huge)).rejects.toMatchObject({ _tag: "ContextOverflowError" })
    const a = await router.call(huge, { summarise: async () => [{ role: "user", content: "a summary" }] })
    expect(a.content).toBe("big ok")
    oai.respond(() => ({ text: "hello from fake openai" }))
  })

  it("router - a per-request budget leaves out models that cost more, and none fitting is budget_exceeded", async () => {
    const router = new Router({ config: resolveModels({ file: file(), env: {} }) })
    const r = router.rank(hi, { maxCostUsd: 0.0006 })
    expect(r.ranked.map((x) => x.deployment)).toEqual(["gpt-small"])
    const before = oai.count() + ant.count()
    await expect(router.call(hi, { maxCostUsd: 1e-9 })).rejects.toMatchObject({ _tag: "BudgetExceededError", code: "budget_exceeded", scope: "request" })
    expect(oai.count() + ant.count()).toBe(before)
  })

  it("router - a malformed answer is an error value on every path, never a crash", async () => {
    const router = new Router({ config: resolveModels({ file: file(), env: {} }) })
    oai.respond(() => ({ raw: "{not json" }))
    ant.respond(() => ({ raw: '{"type":"message"}' }))
    await expect(router.call(hi)).rejects.toMatchObject({ _tag: "ModelUnavailableError", lastKind: "malformed" })
    oai.respond(() => ({ text: "fine again" }))
    expect((await router.call(hi, { model: "gpt-small" })).content).toBe("fine again")
    ant.respond(() => ({ text: "hello from fake anthropic" }))
  })

  it("router - learns latency and success, and blends what other nodes share", async () => {
    let published: Array<[string, StatsSnapshot]> = []
    let remote: ((d: string, node: string, s: StatsSnapshot) => void) | undefined
    const router = new Router({
      config: resolveModels({ file: file(), env: {} }),
      sharing: { publish: (d, s) => void published.push([d, s]), subscribe: (cb) => ((remote = cb), () => undefined) },
    })
    oai.respond(() => ({ text: "slow", delayMs: 60 }))
    await router.call(hi, { model: "gpt-small" })
    const st = router.stats("gpt-small")!
    expect(st.samples).toBe(1)
    expect(st.latencyMs).toBeGreaterThanOrEqual(50)
    expect(published.map((p) => p[0])).toEqual(["gpt-small"])
    remote!("gpt-small", "other-node", { latencyMs: 10, success: 0, outputTokens: 5, samples: 99, at: Date.now() })
    expect(st.blended().success).toBeLessThan(0.05)
    expect(st.blended().latencyMs!).toBeLessThan(st.latencyMs)
    published = []
    oai.respond(() => ({ text: "hello from fake openai" }))
  })

  it("stats - calls in the last minute: counted per second, older ones dropped, at any rate", () => {
    const st = new DeploymentStats()
    const t0 = 5_000_000
    // 100,000 calls over 50 s (2,000 a second): recording stays cheap and every one counts
    for (let i = 0; i < 100_000; i++) st.record(true, 10, 5, t0 + Math.floor(i / 2))
    expect(st.perMinute(t0 + 50_000)).toBe(100_000)
    // at 80 s the minute is seconds 21..80: the calls of seconds 0..20 (42,000) have left it
    expect(st.perMinute(t0 + 80_000)).toBe(58_000)
    st.record(true, 10, 5, t0 + 80_000)
    expect(st.perMinute(t0 + 80_000)).toBe(58_001)
    // a minute after the last call, none is left
    expect(st.perMinute(t0 + 141_000)).toBe(0)
  })

  it("spend - the in-memory store sums an actor's calls whichever address object names it, and its report is a snapshot", () => {
    const ledger = new CostLedger({}, memoryCostStore())
    const a = { tenant: "acme", type: "assistant", id: "a1" }
    void ledger.record(a, { inputTokens: 10, outputTokens: 2 }, 0.5)
    void ledger.record({ ...a }, { inputTokens: 5, outputTokens: 1 }, 0.25)
    void ledger.record({ tenant: "acme", type: "assistant", id: "a2" }, { inputTokens: 1, outputTokens: 1 }, 0.125)
    const before = ledger.report("acme")
    expect(before.byAgent.find((e) => e.address.id === "a1")?.spend).toEqual({ inputTokens: 15, outputTokens: 3, usd: 0.75, calls: 2 })
    expect(before.byType["acme/assistant"]).toEqual({ inputTokens: 16, outputTokens: 4, usd: 0.875, calls: 3 })
    void ledger.record(a, { inputTokens: 100, outputTokens: 0 }, 1)
    expect(before.total.calls).toBe(3)
    expect(before.byAgent.find((e) => e.address.id === "a1")?.spend.calls).toBe(2)
    expect(ledger.report("acme").total).toEqual({ inputTokens: 116, outputTokens: 4, usd: 1.875, calls: 4 })
    expect(ledger.report("other").total.calls).toBe(0)
  })

  it("circuit breaker - the defaults are open after 5 failures and half-open after 60 s", async () => {
    const clock = manualClock()
    const b = new CircuitBreaker({ clock })
    for (let i = 0; i < 4; i++) b.failure()
    expect(b.state).toBe("closed")
    b.failure()
    expect(b.state).toBe("open")
    await expect(b.run(async () => 1)).rejects.toMatchObject({ _tag: "CircuitOpenError" })
    clock.advance(59_999)
    expect(b.canPass()).toBe(false)
    clock.advance(1)
    expect(b.acquire()).toBe(true)
    expect(b.canPass()).toBe(false) // one trial at a time
    b.failure()
    expect(b.state).toBe("open")
    clock.advance(60_000)
    expect(await b.run(async () => 7)).toBe(7)
    expect(b.state).toBe("closed")
  })

  it("configuration - no provider configured means the offline provider, announced and labelled", async () => {
    const config = resolveModels({ env: {} })
    expect(config.offline).toBe(true)
    expect(config.announcement).toMatch(/OFFLINE/)
    const router = new Router({ config })
    const a = await router.call({ messages: [{ role: "user", content: "hi there" }] })
    expect(a).toMatchObject({ offline: true, deployment: "offline", content: "offline model: hi there" })
  })

  it("configuration - a models file whose only provider is of kind offline is offline too", async () => {
    const config = resolveModels({ file: { providers: { local: { kind: "offline" } }, models: [{ name: "m", provider: "local" }] } as unknown as ModelsFile, env: {} })
    // what a reply says before any answer (a turn held for approval) agrees with the answers
    expect(config.offline).toBe(true)
    expect(config.announcement).toMatch(/through local: m/)
    const a = await new Router({ config }).call({ messages: [{ role: "user", content: "hi" }] })
    expect(a).toMatchObject({ offline: true, deployment: "m" })
  })

  it("configuration - the SDK environment variables configure providers without a models file", () => {
    const config = resolveModels({ env: { OPENAI_BASE_URL: `${oai.url}/v1`, ANTHROPIC_API_KEY: "sk-ant-x" } })
    expect(config.offline).toBe(false)
    expect(config.deployments.map((d) => d.provider)).toEqual(["openai", "anthropic"])
  })

  it("configuration - a models file that does not fit is a clear error", () => {
    expect(() => resolveModels({ file: { models: [{ name: "x" }] } as unknown as ModelsFile, env: {} })).toThrow(/provider/)
  })
})
