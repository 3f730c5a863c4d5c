/**
 * llm-swarm: N assistant actors (default 1,000; quick 50; --agents) on one node, each chatting
 * in a loop, every turn's model call waiting 1 s (quick: 250 ms) on a local fake Chat
 * Completions server (bench/fakes/fake-openai.ts) in a process of its own
 * (bench/probes/fake-model.ts). The turn is the real one: the journal in KV, the router, the
 * openai SDK, the spend ledger, the checkpoint before the reply.
 *
 * First every actor takes one turn with an instant model (activation, warm connections); that
 * cold start is reported on its own. Then the measured part: the actors' first turns arrive
 * spread over one model latency, as independent conversations' turns do, and each actor runs
 * `--rounds` turns back to back (default 5; quick 3). The headline is the completed turns per
 * second while every actor is chatting (from the moment every actor has finished its first turn
 * to the moment the first finishes its last) against the ideal, N turns per model latency
 * (N / 1 s; quick N / 250 ms): what the runtime adds to each turn (asks, journal writes, spend,
 * checkpoint, the SDK) is what keeps it under the ideal. The whole window's rate is reported beside it, against
 * its own ideal (the arrivals' ramp included). Last, one turn per actor asked at the same
 * instant: the time until the last is answered, against the model's latency (a burst the node
 * works through one ask and one reply after the other).
 * CPU per completed turn: this process's CPU time over the window (the node, the asking
 * client and the SDK; nats-server and the fake model run elsewhere), over the turns completed:
 * times the ideal rate, the cores the runtime needs to reach it. Heap per waiting turn, in a
 * round of one turn per actor between the two: heapUsed while every actor's turn waits on the
 * model, minus heapUsed with every actor active and idle, over N (after forced collections: the
 * process's --expose-gc, else exposed at run time; kept out of the timed window, which they would
 * stop).
 */
import { assistant } from "../../actors/examples/assistant.ts"
import { counter } from "../../actors/examples/counter.ts"
import { startNode } from "../../runtime/node/node.ts"
import { spawnTs, waitForLine } from "../children.ts"
import { waitFor } from "../load.ts"
import { forcedCollection } from "../probes/heap.ts"
import { benchLogger } from "../support.ts"
import type { Scenario } from "../types.ts"

const LATENCY_MS = 1000
/** The model's wait with --quick: the same shape (50 actors, 3 turns each) in about a quarter of the time. */
const QUICK_LATENCY_MS = 250

function heap(gc: (() => void) | undefined): number {
  if (gc) {
    gc()
    gc()
  }
  return process.memoryUsage().heapUsed
}

export const llmSwarmScenario: Scenario = {
  name: "llm-swarm",
  summary: "N assistants chatting, each turn waiting 1 s (quick 250 ms) on a fake model: turns/s vs the ideal, heap per waiting turn",
  async run(ctx) {
    const latencyMs = ctx.quick ? QUICK_LATENCY_MS : LATENCY_MS
    const N = ctx.options.agents ?? (ctx.quick ? 50 : 1000)
    const rounds = ctx.options.rounds ?? (ctx.quick ? 3 : 5)
    const fake = spawnTs("bench/probes/fake-model.ts", [String(latencyMs)])
    let requests = 0
    fake.stdout?.on("data", (b: Buffer) => {
      for (const m of b.toString().matchAll(/count (\d+)/g)) requests = Math.max(requests, Number(m[1]))
    })
    const baseURL = await waitForLine(fake, (l) => /^ready (\S+)/.exec(l)?.[1], 30_000)
    const node = await startNode({
      agents: [assistant, counter],
      nats: ctx.natsUrl,
      nodeId: "bench-llm-swarm",
      // the turns' own cost is measured here; the assistant's conversation memory has the recall scenario
      memory: false,
      logger: benchLogger(ctx),
      models: { file: { providers: { fake: { kind: "openai", baseURL } }, models: [{ name: "fake-1s", provider: "fake", price: { input: 0.15, output: 0.6 } }] }, env: {} },
    })
    let failed = 0
    let retried = 0
    let firstError: string | undefined
    // why turns were refused `unavailable`, by message (digits blanked), for the figures' notes
    const refusals = new Map<string, number>()
    // A turn refused with `unavailable` (the node is re-checking its actors after a stall) is
    // asked again, as its error says, after a pause: the journal resumes it. Retries are counted.
    const chat = async (i: number, text: string): Promise<boolean> => {
      for (let attempt = 0; ; attempt++) {
        try {
          await node.client.ref(assistant, `swarm${i}`).ask("Chat", { text }, { timeoutMs: 300_000 })
          return true
        } catch (err) {
          const e = err as { code?: string; message?: string }
          if (e.code === "unavailable" && attempt < 5) {
            retried++
            const why = String(e.message ?? "").replace(/\d+/g, "N").slice(0, 160)
            refusals.set(why, (refusals.get(why) ?? 0) + 1)
            await new Promise((ok) => setTimeout(ok, 250 * 2 ** attempt))
            continue
          }
          failed++
          firstError ??= `${e.code ?? "error"}: ${e.message ?? String(e)}`.slice(0, 200)
          return false
        }
      }
    }
    const why = () =>
      [...refusals].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([m, n]) => `${n}x "${m}"`).join("; ")
    try {
      // cold start: every actor activates and takes a first turn, the model answering at once
      ctx.progress(0.05, `${N} actors: first turns`)
      const c0 = performance.now()
      await Promise.all(Array.from({ length: N }, (_, i) => chat(i, "hello")))
      const coldMs = performance.now() - c0
      const coldFailed = failed
      const coldRetried = retried
      ctx.record({
        metric: "first turns per second (activation included, instant model)",
        value: ((N - coldFailed) * 1000) / coldMs,
        unit: "turns/s",
        better: "higher",
        params: { agents: N, elapsedMs: Math.round(coldMs), failed: coldFailed, retried },
        note: coldFailed ? `${coldFailed} turns failed (first: ${firstError})` : undefined,
      })
      // heap per waiting turn, in a round of its own: the forced collections stop the process
      // (on 1,000 waiting turns, about 0.2 ms of CPU per turn of the window), so the timed
      // window below has none
      ctx.progress(0.2, `${N} actors: heap while every turn waits`)
      const collect = forcedCollection()
      const before = heap(collect)
      const seenH = requests
      const heapRound = Promise.all(Array.from({ length: N }, (_, i) => chat(i, "how much memory does a waiting turn hold?")))
      const allWaiting = await waitFor(() => requests - seenH >= N, 60_000, 5)
      const during = heap(collect)
      await heapRound
      const heapFailed = failed - coldFailed
      const heapRetried = retried - coldRetried
      ctx.progress(0.4, `${N} actors x ${rounds} turns`)
      const seen0 = requests
      let completed = 0
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      // when each turn ended, and when each actor ended its first and its last turn
      const ends: number[] = []
      let allLooping = 0
      let firstFinished = Infinity
      // The conversations are independent: their first turns arrive spread over one model
      // latency (actor i at i x latency / N), then each actor chats back to back. Asked all at
      // the same instant instead, the N turns stay in step round after round (each round's N
      // replies arrive together, the node works through them one after the other while the
      // model waits on nothing): that burst is measured on its own below.
      const gap = latencyMs / N
      const loops = Array.from({ length: N }, async (_, i) => {
        await new Promise((ok) => setTimeout(ok, i * gap))
        for (let r = 0; r < rounds; r++) {
          if (await chat(i, `question ${r}`)) completed++
          const now = performance.now()
          ends.push(now)
          if (r === 0) allLooping = Math.max(allLooping, now)
        }
        firstFinished = Math.min(firstFinished, performance.now())
      })
      // every actor's first measured turn is waiting on the model when the server holds N requests
      const reached = await waitFor(() => requests - seen0 >= N, 60_000, 5)
      const waitingAtMs = performance.now() - t0
      await Promise.all(loops)
      const elapsedMs = performance.now() - t0
      const cpu = process.cpuUsage(cpu0)
      const ideal = (N * 1000) / latencyMs
      const measuredFailed = failed - coldFailed - heapFailed
      const measuredRetried = retried - coldRetried - heapRetried
      const params = { agents: N, rounds, modelLatencyMs: latencyMs, elapsedMs: Math.round(elapsedMs), allWaitingAfterMs: Math.round(waitingAtMs), failed: measuredFailed, retried: measuredRetried }
      const notes = [
        measuredFailed ? `${measuredFailed} turns failed (first: ${firstError})` : reached ? undefined : "not every actor's turn reached the model within 60 s",
        refusals.size ? `refused unavailable: ${why()}` : undefined,
      ]
      // Between the moment every actor has finished its first turn and the moment the first
      // actor finishes its last, every actor is chatting back to back: the rate there is the
      // runtime's sustained one, whose ideal is N turns per model latency.
      const steadyMs = firstFinished - allLooping
      const steadyTurns = ends.filter((t) => t > allLooping && t <= firstFinished).length
      const steadyMetric = "completed turns per second, every actor chatting"
      if (steadyMs <= 0) {
        ctx.skip(`no moment when every actor was between its first and its last turn (--rounds ${rounds}: use 3 or more)`, steadyMetric)
      } else {
        ctx.record({
          metric: steadyMetric,
          value: (steadyTurns * 1000) / steadyMs,
          baseline: ideal,
          baselineOf: `the ideal: ${N} turns per model latency (${latencyMs} ms), each of ${N} actors chatting back to back`,
          unit: "turns/s",
          better: "higher",
          target: "ratio >= 0.9",
          headline: true,
          params: { ...params, windowMs: Math.round(steadyMs), turnsInWindow: steadyTurns },
          note: ["from when every actor had finished its first turn to when the first actor finished its last", ...notes].filter(Boolean).join("; "),
        })
      }
      // The whole window: the arrivals' ramp (one latency) and the last round's tail included;
      // its ideal is N x rounds turns in rounds latencies plus the ramp.
      const rampMs = (latencyMs * (N - 1)) / N
      ctx.record({
        metric: "completed turns per second, whole window",
        value: (completed * 1000) / elapsedMs,
        baseline: (N * rounds * 1000) / (rounds * latencyMs + rampMs),
        baselineOf: `the ideal: ${N} x ${rounds} turns in ${rounds} model latencies plus the ${Math.round(rampMs)} ms over which the first turns arrive`,
        unit: "turns/s",
        better: "higher",
        params,
        note: notes.filter(Boolean).join("; ") || undefined,
      })
      ctx.record({
        metric: "CPU per completed turn",
        value: (cpu.user + cpu.system) / 1000 / Math.max(1, completed),
        unit: "ms",
        better: "lower",
        params,
        note: `this process (node, asking client, openai SDK; not nats-server, not the fake model): at the ideal rate it needs ${(((cpu.user + cpu.system) / 1000 / Math.max(1, completed)) * ideal / 1000).toFixed(2)} cores`,
      })
      // N turns asked at the same instant: the time until the last is answered, against the
      // model's latency (the node handles the N asks, then the N replies, one after the other)
      ctx.progress(0.9, `${N} actors: one turn each, asked at once`)
      const failedB = failed
      const b0 = performance.now()
      await Promise.all(Array.from({ length: N }, (_, i) => chat(i, "all of you at once")))
      const burstMs = performance.now() - b0
      ctx.record({
        metric: "N turns asked at once: last answered after",
        value: burstMs,
        baseline: latencyMs,
        baselineOf: `the model's latency (${latencyMs} ms)`,
        unit: "ms",
        better: "lower",
        params: { agents: N, modelLatencyMs: latencyMs, failed: failed - failedB },
        note: failed > failedB ? `${failed - failedB} turns failed (first: ${firstError})` : undefined,
      })
      ctx.record({
        metric: "heap per waiting turn",
        value: Math.max(0, (during - before) / N),
        unit: "bytes",
        better: "lower",
        params: { agents: N, modelLatencyMs: latencyMs, failed: heapFailed },
        note: [collect ? undefined : "no forced collection (--expose-gc could not be set): includes uncollected garbage", allWaiting ? undefined : "not every actor's turn reached the model within 60 s"].filter(Boolean).join("; ") || undefined,
      })
    } finally {
      await node.drain()
      fake.kill("SIGTERM")
    }
  },
}
