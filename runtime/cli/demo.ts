/**
 * `ants demo`: a real swarm on the embedded default. Starts nats-server and a node hosting the
 * example agents, drives many actors at once, crashes one on purpose to show supervision, runs a
 * few durable `example.work` tasks (one failing into the dead-letter queue, one scheduled), lets a
 * few `forager` agents share work through pheromones alone (task trails, a danger trail that
 * expires, success trails reinforced), lets assistants call tools through the offline model and a
 * notebook remember and recall through the embedded memory store, and prints what happened (counts checked against what was
 * sent, figures read back from the system), then drains and exits.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { counter, echo, forager, worker, EXAMPLE_WORK_CAPABILITY } from "../../actors/examples/index.ts"
import type { TaskRecord } from "../../subjects/tasks.ts"
import { isAskError } from "../client/messaging.ts"
import { assistant } from "../../actors/examples/assistant.ts"
import { assistantsStep } from "./demo-assistants.ts"
import { memoryStep } from "./demo-memory.ts"
import { notebook } from "../../actors/examples/notebook.ts"
import { startNode, type AntsNode } from "../node/node.ts"
import { createPheromones, createWorkspace, strongestPatterns, type Evaporation } from "../stigmergy/mod.ts"
import { lifecycleWildcard, supervisorWildcard } from "../../subjects/grammar.ts"
import type { Parsed } from "./command-spec.ts"
import type { DEMO } from "./commands.ts"
import type { Io } from "./io.ts"

/** Runs `ants demo` with its parsed (and checked) options. */
export async function runDemo(parsed: Parsed<(typeof DEMO)["options"]>, io: Io & { readonly json: boolean }): Promise<number> {
  const { values } = parsed
  const actors = values.actors
  const perActor = values.messages
  const json = io.json
  const say = (s: string) => {
    if (!json) io.out(s)
  }
  say("starting a runtime node with the example agents (echo, counter, worker, forager, assistant, notebook)...")
  // the embedded memory store in a folder of this run's own, removed at the end (DATABASE_URL, when set, wins)
  const memoryDir = mkdtempSync(join(tmpdir(), "ants-demo-memory-"))
  const node = await startNode({
    agents: [echo, counter, worker, forager, assistant, notebook],
    nats: values.nats,
    memory: { dataDir: memoryDir },
    logger: () => {},
    // quick retries so the failing task reaches the dead-letter queue within the demo (defaults: 1 s, 2 s, ...)
    tasks: { workerDefaults: { maxAttempts: 3, backoff: { initialMs: 100, multiplier: 2, maxMs: 1_000 } } },
  })
  say(`  node ${node.id} on ${node.url}${node.embedded ? ` (embedded nats-server ${node.embedded.version})` : ""}, routing ${node.routing}`)
  // opened now, in the background, so the assistants (which keep their turns as memory) and the notebook find it ready;
  // a failure is the memory step's to report
  node.memory.open().catch(() => undefined)
  const enc = new TextDecoder()
  let lifecycle = 0
  const decisions: string[] = []
  const subL = node.nc.subscribe(lifecycleWildcard(), { callback: () => void lifecycle++ })
  const subS = node.nc.subscribe(supervisorWildcard(), { callback: (_e, m) => void decisions.push(enc.decode(m.data)) })
  try {
    say(`\n1. ${actors} counter actors, ${perActor} concurrent Add messages each (virtual actors: no spawn call)`)
    const t0 = performance.now()
    let done = 0
    await Promise.all(
      Array.from({ length: actors }, async (_, i) => {
        const ref = node.client.ref(counter, `c${i}`)
        await Promise.all(Array.from({ length: perActor }, () => ref.ask("Add", { n: 1 })))
        done++
        if (!json && process.stdout.isTTY) process.stdout.write(`\r  progress: ${done}/${actors} actors`)
      }),
    )
    if (!json && process.stdout.isTTY) process.stdout.write("\n")
    const ms = performance.now() - t0
    const totals = await Promise.all(Array.from({ length: actors }, (_, i) => node.client.ref(counter, `c${i}`).ask("Get", {})))
    const wrong = totals.filter((t) => t.total !== perActor).length
    say(`  ${actors * perActor} asks in ${ms.toFixed(0)} ms (${Math.round((actors * perActor) / (ms / 1000))}/s); every total = ${perActor}: ${wrong === 0 ? "yes" : `NO (${wrong} wrong)`}`)

    say("\n2. echo over the public subject, as any NATS client would send it")
    const e = await node.client.ref(echo, "e1").ask("Say", { text: "hello, swarm" })
    say(`  ants.default.agent.echo.e1.Say {"text":"hello, swarm"} -> ${JSON.stringify(e)}`)

    say("\n3. a handler that throws: the caller gets handler_failed, the supervisor restarts the actor from its checkpoint")
    const c0 = node.client.ref(counter, "c0")
    const failed = await c0.ask("Fail", { reason: "demo crash" }).catch((err) => err)
    const after = await c0.ask("Get", {})
    say(`  Fail -> ${isAskError(failed) ? failed.code : "??"}; afterwards Get -> ${JSON.stringify(after)} (state kept)`)

    say("\n4. bad input never hurts: a body that fails the schema")
    const bad = await node.client.ask({ agent: "echo", id: "e1" }, "Say", { text: 42 }).catch((err) => err)
    say(`  Say {"text":42} -> ${isAskError(bad) ? `${bad.code}: ${bad.message}` : "??"}`)

    say(`\n5. durable tasks: ${EXAMPLE_WORK_CAPABILITY} tasks stored in JetStream, served by the worker type, retried, dead-lettered`)
    const tasks = node.tasks!
    const t1 = performance.now()
    // ids unique to this run: a second demo against the same server (--nats) is not a duplicate
    const key = (name: string) => `demo-${name}-${node.id.replace(/^node-/, "")}`
    const submitted = [
      await tasks.submit({ capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 100 }, priority: "high", idempotencyKey: key("high") }),
      await tasks.submit({ capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 50 }, priority: "low", idempotencyKey: key("low") }),
      await tasks.submit({ capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 10 }, notBefore: Date.now() + 500, idempotencyKey: key("later") }),
      await tasks.submit({ capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 10, fail: true }, idempotencyKey: key("poison") }),
    ]
    for (const r of submitted) say(`  submitted ${r.id} (${r.state})`)
    const again = await tasks.submit({ capability: EXAMPLE_WORK_CAPABILITY, payload: { ms: 100 }, idempotencyKey: key("high") })
    say(`  submitted ${again.id} again: duplicate=${again.duplicate} (the idempotency key stores it once)`)
    const records: TaskRecord[] = await Promise.all(submitted.map((r) => tasks.waitForStatus(r.id, { timeoutMs: 15_000 })))
    for (const r of records) {
      const what = r.state === "completed" ? `result ${JSON.stringify(r.result)}` : `reason ${r.reason}, last error "${r.lastError}"`
      say(`  ${r.id}: ${r.state} after ${r.attempts} attempt(s), ${what}`)
    }
    const mine = new Set(submitted.map((r) => r.id))
    const dead = (await tasks.deadLetters.list()).filter((d) => mine.has(d.id))
    say(`  dead-letter queue: ${dead.map((d) => `${d.id} (${d.reason}, ${d.attempts} attempts)`).join(", ") || "empty"}; all settled in ${((performance.now() - t1) / 1000).toFixed(1)} s`)
    const tasksOk =
      records.filter((r) => r.state === "completed").length === 3 &&
      records.find((r) => r.id === key("poison"))?.state === "dead_lettered" &&
      records.find((r) => r.id === key("poison"))?.attempts === 3

    const swarm = await swarmStep(node, say)
    const assistants = await assistantsStep(node, say)
    const memory = await memoryStep(node, say)

    await node.nc.flush()
    const stats = node.stats()
    const summary = {
      node: node.id,
      url: node.url,
      actors,
      asks: actors * perActor,
      askMs: Math.round(ms),
      totalsCorrect: wrong === 0,
      lifecycleEvents: lifecycle,
      supervisorDecisions: decisions.length,
      handled: stats.types.counter.handled + stats.types.echo.handled,
      rejected: stats.rejected,
      tasks: Object.fromEntries(records.map((r) => [r.id, { state: r.state, attempts: r.attempts }])),
      tasksCorrect: tasksOk,
      swarm,
      assistants,
      memory,
    }
    if (json) io.out(JSON.stringify(summary))
    else {
      say(`\nlifecycle events published: ${lifecycle}; supervisor decisions: ${decisions.length} (${decisions.map((d) => JSON.parse(d).directive).join(", ")})`)
      say(`node stats: ${summary.handled} messages handled, rejected by code ${JSON.stringify(stats.rejected)}`)
    }
    return wrong === 0 && tasksOk && swarm.correct && assistants.correct && memory.correct ? 0 : 1
  } finally {
    subL.unsubscribe()
    subS.unsubscribe()
    say("\ndraining the node and stopping the embedded server...")
    await node.drain()
    rmSync(memoryDir, { recursive: true, force: true })
    say("done.")
  }
}

/** The foragers of step 6 and what each can do; the task trails they find, with the capability each asks for. */
const FORAGERS: ReadonlyArray<{ id: string; capabilities: string[] }> = [
  { id: "f1", capabilities: ["orders"] },
  { id: "f2", capabilities: ["billing"] },
  { id: "f3", capabilities: ["orders", "search"] },
  { id: "f4", capabilities: ["search"] },
]
const TASKS: ReadonlyArray<{ location: string; capability: string; strength: number }> = [
  { location: "orders.eu", capability: "orders", strength: 0.9 },
  { location: "orders.us", capability: "orders", strength: 0.7 },
  { location: "orders.asia", capability: "orders", strength: 0.4 },
  { location: "billing.refunds", capability: "billing", strength: 0.8 },
  { location: "billing.invoices", capability: "billing", strength: 0.5 },
  { location: "search.index", capability: "search", strength: 0.6 },
]
/** Where the failing dependency is, and how long its danger trail lives. */
const DANGER_AT = "billing.refunds"
const DANGER_TTL_MS = 2_000
/** Task trails fade linearly over this TTL, so the decay is visible within the demo. */
const TASK_TTL_MS = 10_000

export interface SwarmSummary {
  /** Locations each forager took, in order (relative to the run's area). */
  readonly taken: Record<string, string[]>
  readonly lostRaces: number
  /** Whether the danger location was left alone while its danger trail lived. */
  readonly dangerAvoided: boolean
  /** How the watcher heard the danger trail go: `expired` (TTL) or undefined if it did not. */
  readonly dangerEvaporation: Evaporation["reason"] | undefined
  readonly takenTrailsHeard: number
  readonly tasksLeft: number
  /** Success patterns under the area: reinforcement count per pattern. */
  readonly reinforcements: Record<string, number>
  /** Work per forager, counted from the workspace artifacts. */
  readonly work: Record<string, number>
  readonly gini: number
  readonly correct: boolean
}

/** Gini coefficient of non-negative amounts: 0 when shared evenly, towards 1 when one has all. */
export function gini(xs: ReadonlyArray<number>): number {
  const n = xs.length
  const sum = xs.reduce((a, b) => a + b, 0)
  if (n === 0 || sum === 0) return 0
  let diff = 0
  for (const a of xs) for (const b of xs) diff += Math.abs(a - b)
  return diff / (2 * n * sum)
}

async function until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  return pred()
}

/** Step 6: stigmergy. Foragers take task trails by strength and capability, avoid danger, reinforce success. */
async function swarmStep(node: AntsNode, say: (s: string) => void): Promise<SwarmSummary> {
  say(`\n6. stigmergy: ${FORAGERS.length} forager actors find their work through pheromones alone (no message names a task)`)
  // a location unique to this run: a second demo against the same server (--nats) starts clean
  const area = `demo.${node.id.replace(/^node-/, "")}`
  const rel = (location: string) => location.slice(area.length + 1)
  const ph = createPheromones(node.nc, { emitter: "ants-demo", sweepIntervalMs: 100 })
  const heard: Evaporation[] = []
  const t0 = performance.now()
  const watch = await ph.watch({ evaporated: (e) => void heard.push(e) }, { location: area })
  try {
    // when each task trail began, to tell when a forager read it (its deposit time plus the age it read)
    const depositedAt = new Map<string, number>()
    for (const t of TASKS) {
      const trail = await ph.deposit({ type: "task", location: `${area}.${t.location}`, id: "work", strength: t.strength, ttlMs: TASK_TTL_MS, data: { capability: t.capability } })
      depositedAt.set(t.location, trail.depositedAt)
    }
    const danger = await ph.deposit({ type: "danger", location: `${area}.${DANGER_AT}`, id: "provider", strength: "high", ttlMs: DANGER_TTL_MS, data: { status: 429 } })
    const seen = await ph.detect({ location: area, types: ["task"] })
    say(`  task trails (linear over ${TASK_TTL_MS / 1000} s): ${seen.map((t) => `${rel(t.location)} ${t.current.toFixed(2)} needs ${t.data && (t.data as { capability?: string }).capability}`).join(", ")}`)
    say(`  danger trail at ${rel(danger.location)}: ${danger.strength.toFixed(2)}, TTL ${danger.ttlMs} ms (a failing dependency)`)
    for (const f of FORAGERS) say(`  ${f.id} can do ${f.capabilities.join(" + ")}`)

    const taken: Record<string, string[]> = Object.fromEntries(FORAGERS.map((f) => [f.id, []]))
    // a take of the danger location counts against the swarm only if it was read while the danger lived
    // (on a slow machine round 1 may outlast the danger's TTL, and a take after it is the rule followed)
    const dangerEnds = danger.depositedAt + danger.ttlMs
    let takenUnderDanger = false
    let lostRaces = 0
    const forageAll = async () => {
      const lines: string[] = []
      await Promise.all(
        FORAGERS.map(async (f) => {
          const ref = node.client.ref(forager, f.id)
          for (let i = 0; i < TASKS.length; i++) {
            const r = await ref.ask("Forage", { area, capabilities: f.capabilities })
            lostRaces += r.lostRaces
            if (!r.took) {
              if (r.lostRaces) lines.push(`  ${f.id} lost ${r.lostRaces} race(s) and found nothing else it may do`)
              break
            }
            const t = r.took
            taken[f.id]!.push(rel(t.location))
            if (rel(t.location) === DANGER_AT && (depositedAt.get(DANGER_AT) ?? 0) + t.ageMs < dangerEnds) takenUnderDanger = true
            lines.push(`  ${f.id} took ${rel(t.location)} (deposited ${t.deposited.toFixed(2)}, read ${t.read.toFixed(3)} at age ${(t.ageMs / 1000).toFixed(2)} s)${r.lostRaces ? `, after losing ${r.lostRaces} race(s)` : ""}`)
          }
        }),
      )
      for (const l of lines) say(l)
    }
    say("  round 1: every forager forages until it finds nothing it may do")
    await forageAll()
    const blocked = await ph.detect({ location: `${area}.${DANGER_AT}`, types: ["task", "danger"] })
    const dangerAvoided = !takenUnderDanger
    say(`  left at ${DANGER_AT}: ${blocked.map((t) => `${t.type} ${t.current.toFixed(2)}`).join(", ") || "nothing"}; taken while the danger lived: ${dangerAvoided ? "no" : "YES"}`)

    const expired = await until(() => heard.some((e) => e.type === "danger"), DANGER_TTL_MS + 5_000)
    const gone = heard.find((e) => e.type === "danger")
    say(
      gone
        ? `  watcher: the danger trail at ${rel(gone.location)} ${gone.reason} (${((performance.now() - t0) / 1000).toFixed(2)} s into the step)`
        : `  watcher: the danger trail did NOT evaporate within ${DANGER_TTL_MS + 5_000} ms`,
    )
    say("  round 2: the foragers look again")
    await forageAll()

    const takenCount = Object.values(taken).reduce((a, ls) => a + ls.length, 0)
    await until(() => heard.filter((e) => e.type === "task").length >= takenCount, 2_000)
    const takenTrailsHeard = heard.filter((e) => e.type === "task" && e.reason === "evaporated").length
    const tasksLeft = (await ph.detect({ location: area, types: ["task"] })).length
    const patterns = await strongestPatterns(ph, { location: area })
    const reinforcements = Object.fromEntries(patterns.map((p) => [p.pattern, p.trail.reinforcements]))
    say(`  watcher heard ${takenTrailsHeard} task trail(s) evaporate as foragers took them; task trails left: ${tasksLeft}; races lost: ${lostRaces}`)
    say(`  success trails at ${area}: ${patterns.map((p) => `${p.pattern} ${p.trail.current.toFixed(2)} (reinforced ${p.trail.reinforcements} time(s))`).join(", ") || "none"}`)

    const artifacts = await createWorkspace(node.nc).list({ prefix: area })
    const work: Record<string, number> = Object.fromEntries(FORAGERS.map((f) => [f.id, 0]))
    for (const a of artifacts) {
      const by = (a.data as { by?: unknown } | null)?.by
      if (typeof by === "string" && by in work) work[by]!++
    }
    const g = gini(Object.values(work))
    say(`  work per forager, counted from the workspace's ${artifacts.length} done artifact(s): ${Object.entries(work).map(([k, v]) => `${k} ${v}`).join(", ")}; Gini ${g.toFixed(2)} (0 = evenly shared); step took ${((performance.now() - t0) / 1000).toFixed(1)} s`)

    const locations = new Set(artifacts.map((a) => rel(a.id)))
    const correct =
      dangerAvoided &&
      gone?.reason === "expired" &&
      artifacts.length === TASKS.length &&
      TASKS.every((t) => locations.has(t.location)) &&
      takenCount === TASKS.length &&
      tasksLeft === 0 &&
      Object.values(reinforcements).reduce((a, r) => a + r + 1, 0) === TASKS.length
    if (!correct) say("  the swarm step did NOT go as expected (see above)")
    return { taken, lostRaces, dangerAvoided, dangerEvaporation: expired ? gone?.reason : undefined, takenTrailsHeard, tasksLeft, reinforcements, work, gini: g, correct }
  } finally {
    await watch.stop()
    await ph.close()
  }
}
