/**
 * `ants demo`: a real swarm on the embedded default. Starts nats-server and a node hosting the
 * example agents, drives many actors at once, crashes one on purpose to show supervision, runs a
 * few durable `example.work` tasks (one failing into the dead-letter queue, one scheduled), and
 * prints what happened (counts checked against what was sent), then drains and exits.
 */
import { parseArgs } from "node:util"
import { counter, echo, worker, EXAMPLE_WORK_CAPABILITY } from "../../actors/examples/index.ts"
import type { TaskRecord } from "../../subjects/tasks.ts"
import { isAskError } from "../client.ts"
import { startNode } from "../node.ts"
import { lifecycleWildcard, supervisorWildcard } from "../../subjects/grammar.ts"
import type { Io } from "./main.ts"

export async function runDemo(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { nats: { type: "string" }, actors: { type: "string" }, messages: { type: "string" }, json: { type: "boolean" } },
    strict: true,
  })
  const actors = Number(values.actors ?? 50)
  const perActor = Number(values.messages ?? 40)
  const json = values.json === true
  const say = (s: string) => {
    if (!json) io.out(s)
  }
  say("starting a runtime node with the example agents (echo, counter, worker)...")
  const node = await startNode({
    agents: [echo, counter, worker],
    nats: values.nats,
    logger: () => {},
    // quick retries so the failing task reaches the dead-letter queue within the demo (defaults: 1 s, 2 s, ...)
    tasks: { workerDefaults: { maxAttempts: 3, backoff: { initialMs: 100, factor: 2, maxMs: 1_000 } } },
  })
  say(`  node ${node.id} on ${node.url}${node.embedded ? ` (embedded nats-server ${node.embedded.version})` : ""}, routing ${node.routing}`)
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
    }
    if (json) io.out(JSON.stringify(summary))
    else {
      say(`\nlifecycle events published: ${lifecycle}; supervisor decisions: ${decisions.length} (${decisions.map((d) => JSON.parse(d).directive).join(", ")})`)
      say(`node stats: ${summary.handled} messages handled, rejected by code ${JSON.stringify(stats.rejected)}`)
    }
    return wrong === 0 && tasksOk ? 0 : 1
  } finally {
    subL.unsubscribe()
    subS.unsubscribe()
    say("\ndraining the node and stopping the embedded server...")
    await node.drain()
    say("done.")
  }
}
