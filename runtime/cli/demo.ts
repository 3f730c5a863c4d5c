/**
 * `ants demo`: a real swarm on the embedded default. Starts nats-server and a node hosting the
 * example agents, drives many actors at once, crashes one on purpose to show supervision, and
 * prints what happened (counts checked against what was sent), then drains and exits.
 */
import { parseArgs } from "node:util"
import { counter, echo } from "../../actors/examples/index.ts"
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
  say("starting a runtime node with the example agents (echo, counter)...")
  const node = await startNode({ agents: [echo, counter], nats: values.nats, logger: () => {} })
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
    }
    if (json) io.out(JSON.stringify(summary))
    else {
      say(`\nlifecycle events published: ${lifecycle}; supervisor decisions: ${decisions.length} (${decisions.map((d) => JSON.parse(d).directive).join(", ")})`)
      say(`node stats: ${summary.handled} messages handled, rejected by code ${JSON.stringify(stats.rejected)}`)
    }
    return wrong === 0 ? 0 : 1
  } finally {
    subL.unsubscribe()
    subS.unsubscribe()
    say("\ndraining the node and stopping the embedded server...")
    await node.drain()
    say("done.")
  }
}
