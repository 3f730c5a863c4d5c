/**
 * Child process of the scale scenario (run with `node --expose-gc --no-flush-bytecode --max-old-space-size=4096
 * --import tsx`): one runtime node holding many active and many sleeping actors, and what that
 * costs it.
 *
 *   node --expose-gc --no-flush-bytecode --max-old-space-size=4096 --import tsx bench/probes/scale-probe.ts \
 *     <nats-url> <active> <sleeping> <passivated> <samples> <windowMs>
 *
 * In order:
 * 1. unloaded: the node's ask rate (16 callers asking 64 active actors, median of 3 windows),
 *    and a cold activation (the first ask to an actor whose state is in KV, one at a time);
 * 2. `<active>` actors activated with asks and left idle: heap per active actor;
 * 3. `<passivated>` actors activated and passivated on this node: heap per sleeping actor;
 * 4. `<sleeping>` sleeping actors written straight into KV (a checkpoint marked asleep, as a
 *    node writes it when an actor passivates; by another process, sleeper-seeder.ts):
 *    what the node holds for them (nothing is expected: an actor that slept is its checkpoint);
 * 5. loaded: the ask rate again, and the first ask to random sleeping actors (of the million
 *    and of those passivated here), timed like the cold ones.
 * Prints `progress <fraction> <label>`, `note <text>` and last one line `result {…}`. Every wait
 * is bounded and says what it waits for.
 */
import * as Schema from "effect/Schema"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode } from "../../runtime/node/node.ts"
import { askEach } from "../ask-each.ts"
import { closedLoop } from "../load.ts"
import { median, percentile, Samples } from "../stats.ts"
import { rawConnection } from "../support.ts"
import { canCollect, lastReading, settledHeap } from "./heap.ts"
import { seedSleeping } from "./seed-sleeping.ts"
import { spawnTs, waitForLine } from "../children.ts"

const [url, aArg, sArg, pArg, mArg, wArg] = process.argv.slice(2)
const ACTIVE = Number(aArg)
const SLEEPING = Number(sArg)
const PASSIVATED = Number(pArg)
const SAMPLES = Number(mArg)
const WINDOW_MS = Number(wArg)
const TENANT = "default"

const touch = { Touch: { message: Schema.Struct({}), reply: Empty, description: "Activates the actor." } } as const
const handlers = {
  Touch: (_m: unknown, ctx: { state: { n: number } }) => {
    ctx.state.n++
    return {}
  },
}
const common = { protocol: touch, initialState: () => ({ n: 0 }), checkpoint: "on-passivate" as const, handlers }
/** Stays active for the whole probe (the 64 asked for the rate, the active load, the ones woken). */
const keeper = defineAgent({ type: "scale_keeper", passivateAfterMs: 3_600_000, ...common })
/** Passivates 300 ms after its message, on this node. */
const dozer = defineAgent({ type: "scale_dozer", passivateAfterMs: 300, ...common })
/** Asleep in KV before the node ever saw it; stays active once woken. */
const sleeper = defineAgent({ type: "scale_sleeper", passivateAfterMs: 3_600_000, ...common })

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const say = (s: string) => process.stdout.write(s + "\n")
const progress = (f: number, label: string) => say(`progress ${f.toFixed(3)} ${label}`)


// the node's warnings and errors as notes (the first 20): a loaded node says here why it refused
let logged = 0
const logger = (level: "info" | "warn" | "error", message: string) => {
  if (level !== "info" && logged++ < 20) say(`note node ${level}: ${message.slice(0, 300)}`)
}
const node = await startNode({ agents: [keeper, dozer, sleeper], nats: url, nodeId: "bench-scale", idleAfterMs: 100, logger })
const nc = await rawConnection(url, "bench-scale-caller")
const client = createMessaging(nc)
const ask = (type: string, id: string, timeoutMs = 20_000) => client.ask({ agent: type, id }, "Touch", {}, { timeoutMs })

/** Asks each of `n` actors once (256 in flight, refusals asked again; bench/ask-each.ts), bounded at `deadlineMs`. */
async function touchAll(type: string, prefix: string, n: number, label: string, from: number, to: number, deadlineMs = 600_000): Promise<number> {
  progress(from, label)
  const r = await askEach(n, (i) => ask(type, `${prefix}${i}`), {
    concurrency: 256,
    deadlineMs,
    progress: (k) => progress(from + ((to - from) * k) / n, `${label}: ${k}/${n} answered`),
  })
  if (r.missing > 0) say(`note ${label}: ${r.missing} of ${n} actors did not answer within ${deadlineMs / 1000} s (last error: ${r.lastError})`)
  return r.answered
}

/** `n` sleeping actors' checkpoints (`<prefix>0..`) written in this process (a few hundred: the cold actors). */
async function seedHere(type: string, prefix: string, n: number, label: string, from: number, to: number): Promise<number> {
  const ms = await seedSleeping(url, { tenant: TENANT, type, prefix, n }, (done) => progress(from + ((to - from) * done) / n, `${label}: ${done}/${n} written`))
  return seeded(label, n, ms, "")
}

/** Notes how long `n` checkpoints took to write and returns that time. */
function seeded(label: string, n: number, ms: number, where: string): number {
  say(`note ${label}: ${n} checkpoints written in ${(ms / 1000).toFixed(1)} s (${Math.round((n * 1000) / ms)}/s)${where}`)
  return ms
}

/**
 * The same in a process of its own (sleeper-seeder.ts): a million writes and their acknowledgements
 * would hold this node's event loop for seconds at a time (its membership entry then expires and
 * it re-checks every lease it holds), which is the bench's doing, not what a node with a million
 * actors asleep in KV goes through.
 */
async function seedElsewhere(type: string, prefix: string, n: number, label: string, from: number, to: number): Promise<number> {
  const child = spawnTs("bench/probes/sleeper-seeder.ts", [url, TENANT, type, prefix, String(n)])
  const r = await waitForLine<{ ms: number }>(
    child,
    (line) => {
      if (line.startsWith("written ")) progress(from + ((to - from) * Number(line.slice(8))) / n, `${label}: ${line.slice(8)}/${n} written (another process)`)
      return line.startsWith("result ") ? (JSON.parse(line.slice(7)) as { ms: number }) : undefined
    },
    1_200_000,
  )
  return seeded(label, n, r.ms, " by another process")
}

const HOT = 64
/** Answered asks per second: 16 callers asking the 64 hot actors in turn; the median of 3 windows. */
async function askRate(label: string, at: number): Promise<number> {
  const rates: number[] = []
  for (let r = 0; r < 3; r++) {
    progress(at, `${label}: ask rate, window ${r + 1} of 3 (${WINDOW_MS} ms)`)
    let lastError = ""
    const res = await closedLoop(16, { durationMs: WINDOW_MS }, (_w, i) =>
      // an ask to an active actor answers in a millisecond: one lost (at-most-once) holds its caller 2 s, not 20
      ask("scale_keeper", `hot${i % HOT}`, 2_000).catch((e) => {
        lastError = (e as Error).message
        throw e
      }),
    )
    if (res.errors > 0) say(`note ${label}: ${res.errors} asks failed in a rate window (last: ${lastError})`)
    rates.push(res.throughput)
  }
  return median(rates)
}

/** Times the first ask to each id, one at a time (each wakes or activates its actor). */
async function firstAsks(type: string, ids: ReadonlyArray<string>, label: string, from: number, to: number): Promise<{ p50: number; p99: number; failed: number }> {
  const s = new Samples()
  let failed = 0
  for (let i = 0; i < ids.length; i++) {
    if (i % 20 === 0) progress(from + ((to - from) * i) / ids.length, `${label}: ${i}/${ids.length}`)
    const t = performance.now()
    try {
      await ask(type, ids[i]!)
      s.push(performance.now() - t)
    } catch {
      failed++
    }
  }
  if (failed > 0) say(`note ${label}: ${failed} of ${ids.length} first asks failed`)
  const v = s.view()
  return { p50: percentile(v, 0.5), p99: percentile(v, 0.99), failed }
}

/** `n` distinct random numbers below `below`. */
function randomPicks(n: number, below: number): number[] {
  const picked = new Set<number>()
  while (picked.size < Math.min(n, below)) picked.add(Math.floor(Math.random() * below))
  return [...picked]
}

const t0 = Date.now()
// warm-up: code paths compiled, buckets open; the hot actors of the rate windows activated
await touchAll("scale_keeper", "hot", HOT, "warming up", 0, 0)
await touchAll("scale_keeper", "warm", 200, "warming up", 0, 0)
await seedHere("scale_sleeper", "cold", SAMPLES + 50, "checkpoints of the cold actors", 0, 0.01)
await firstAsks("scale_sleeper", Array.from({ length: 50 }, (_, i) => `cold${SAMPLES + i}`), "warming up activation", 0.01, 0.01)
// the passivation path too (checkpoint on passivate, lease release, the sleeping store), so the
// code it compiles is not read as the cost of the actors passivated below
await touchAll("scale_dozer", "warm", 200, "warming up passivation", 0.01, 0.01)
for (let t = Date.now(); node.stats().types.scale_dozer!.sleeping < 200 && Date.now() - t < 30_000; ) await sleep(100)
/** Dozers asleep before the measured ones (the warm-up's). */
const warmAsleep = node.stats().types.scale_dozer!.sleeping

const unloadedRate = await askRate("unloaded", 0.02)
const cold = await firstAsks("scale_sleeper", Array.from({ length: SAMPLES }, (_, i) => `cold${i}`), "cold activations (state in KV), unloaded", 0.03, 0.05)

const h0 = await settledHeap()
const h0Parts = { ...lastReading }
const activated = await touchAll("scale_keeper", "k", ACTIVE, `activating ${ACTIVE} actors`, 0.05, 0.4)
progress(0.4, "waiting for the heap to settle")
const h1 = await settledHeap()
const h1Parts = { ...lastReading }

const dozers = await touchAll("scale_dozer", "d", PASSIVATED, `activating ${PASSIVATED} actors to passivate here`, 0.4, 0.55)
// bounded: until every activated dozer sleeps, or 60 s pass without one more going to sleep
let last = -1
let lastChange = Date.now()
let lastReport = 0
for (;;) {
  const t = node.stats().types.scale_dozer!
  const s = { ...t, sleeping: t.sleeping - warmAsleep }
  if (s.sleeping >= dozers) break
  if (s.sleeping !== last) [last, lastChange] = [s.sleeping, Date.now()]
  if (Date.now() - lastChange > 60_000) {
    say(`note passivation stalled: ${dozers - s.sleeping} of ${dozers} idle actors still awake after 60 s without progress (active ${s.active}, idle ${s.idle}, warming ${s.warming})`)
    break
  }
  if (Date.now() - lastReport > 500) {
    lastReport = Date.now()
    progress(0.55 + (0.1 * s.sleeping) / Math.max(1, dozers), `passivating: ${s.sleeping}/${dozers} sleeping`)
  }
  await sleep(100)
}
progress(0.65, "waiting for the heap to settle")
const h2 = await settledHeap()
const h2Parts = { ...lastReading }
const passivated = node.stats().types.scale_dozer!.sleeping - warmAsleep

const seedMs = await seedElsewhere("scale_sleeper", "s", SLEEPING, `writing ${SLEEPING} sleeping actors into KV`, 0.65, 0.85)
progress(0.85, "waiting for the heap to settle")
const h3 = await settledHeap()
const h3Parts = { ...lastReading }

/**
 * Until an active actor answers again (bounded: 180 s): a node starved by the bulk write above
 * (the server and the machine busy with it) may have missed heartbeats and refuse messages while
 * it re-checks its leases.
 */
async function inTouch(): Promise<number> {
  const t = Date.now()
  let last = ""
  while (Date.now() - t < 180_000) {
    try {
      await ask("scale_keeper", "hot0", 2_000)
      return Date.now() - t
    } catch (e) {
      last = (e as Error).message
      progress(0.855, `waiting for the node to answer again (${Math.round((Date.now() - t) / 1000)} s): ${last.slice(0, 80)}`)
      await sleep(500)
    }
  }
  say(`note the node still refused after 180 s: ${last}`)
  return Date.now() - t
}
const recoverMs = await inTouch()

const loadedRate = await askRate("loaded", 0.86)
const wakeIds = randomPicks(SAMPLES, SLEEPING).map((i) => `s${i}`)
const wake = await firstAsks("scale_sleeper", wakeIds, `waking random actors of the ${SLEEPING} asleep in KV`, 0.88, 0.94)
const wakeHere = await firstAsks("scale_dozer", randomPicks(Math.min(SAMPLES, passivated), PASSIVATED).map((i) => `d${i}`), "waking random actors passivated here", 0.94, 0.99)
const st = node.stats().types
say(
  `result ${JSON.stringify({
    gc: canCollect(),
    active: ACTIVE,
    activated,
    activeBytes: (h1 - h0) / ACTIVE,
    passivated,
    sleepingBytes: (h2 - h1) / Math.max(1, passivated),
    seeded: SLEEPING,
    seedMs,
    seededBytes: (h3 - h2) / Math.max(1, SLEEPING),
    recoverMs,
    heap: { before: h0, active: h1, passivated: h2, seeded: h3 },
    heapParts: { before: h0Parts, active: h1Parts, passivated: h2Parts, seeded: h3Parts },
    unloadedRate,
    loadedRate,
    cold,
    wake,
    wakeHere,
    nodeActive: st.scale_keeper!.active + st.scale_keeper!.idle + st.scale_sleeper!.active + st.scale_sleeper!.idle,
    nodeSleeping: st.scale_dozer!.sleeping,
    totalMs: Date.now() - t0,
  })}`,
)
await nc.close()
await node.drain()
process.exit(0)
