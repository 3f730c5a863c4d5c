/**
 * Checks client-side histories of a run under network faults (pure: no sockets, no clock).
 *
 * Clients record what they sent and what came back: counter increments (acknowledged, failed or
 * unknown), reads, and task submissions; workers record each task run; the test adds the
 * records it finds in the task store at the end. From that alone the checker answers:
 *
 * - **Counters**: the final total of a counter must lie between the sum of its acknowledged
 *   increments (below: an acknowledged increment was lost) and that sum plus every increment
 *   whose outcome is unknown or failed (above: something was applied twice, or an increment
 *   nobody sent appeared). Every final read of a counter must agree (a later read that differs
 *   means state moved after the heal). Under a policy that answers before storing
 *   (`after-change`), `inFlightMs` admits one documented loss: the increments an activation
 *   acknowledged in its last `inFlightMs` before it ended (what was answered while its last
 *   write was in flight; an activation has ended when another answered the final read, or
 *   acknowledged later); anything lost beyond that is reported.
 * - **Single activation**: each acknowledged write names the activation that made it (a
 *   random id the actor draws when it activates, and its node). An activation was certainly
 *   active from the earliest answer to any of its writes to the latest sending of any of them;
 *   two activations of one actor whose certain intervals meet, or a write of one that lies
 *   wholly inside the other's interval, were active at once, both acknowledging writes.
 * - **Tasks**: every acknowledged submission was run at least once and recorded exactly once.
 * - **Unavailability**: per client, the longest time one of its actors went without an
 *   acknowledgement while the client kept asking.
 *
 * Times are milliseconds on one clock (the clients run on one machine).
 */

export type Outcome = "ok" | "fail" | "unknown"

/** One increment of a counter by `n`. `invokeAt` when sent, `completeAt` when its outcome was known. */
export interface AddOp {
  readonly kind: "add"
  readonly client: string
  readonly actor: string
  readonly n: number
  readonly invokeAt: number
  readonly completeAt: number
  readonly outcome: Outcome
  /** From an acknowledgement: the node and activation that answered, and the total it reported. */
  readonly node?: string
  readonly act?: string
  readonly total?: number
  readonly error?: string
}

/** A final read of a counter (after the heal). */
export interface ReadOp {
  readonly kind: "read"
  readonly actor: string
  readonly at: number
  readonly total: number
  /** The activation that answered the read (an activation other than this one has ended). */
  readonly act?: string
}

/** A task submission (acknowledged: the stream stored it). */
export interface SubmitOp {
  readonly kind: "submit"
  readonly client: string
  readonly task: string
  readonly invokeAt: number
  readonly completeAt: number
  readonly outcome: Outcome
}

/** A worker ran a task's handler (maybe more than once: delivery is at least once). */
export interface RunOp {
  readonly kind: "run"
  readonly task: string
  readonly worker: string
  readonly at: number
}

/** What the task store holds for a task at the end: how many completion records. */
export interface RecordOp {
  readonly kind: "record"
  readonly task: string
  readonly records: number
}

export type Op = AddOp | ReadOp | SubmitOp | RunOp | RecordOp

export interface CounterVerdict {
  readonly actor: string
  readonly acknowledged: number
  readonly unknown: number
  readonly finals: number[]
  /** Acknowledged increments missing from the final total. */
  readonly lost: number
  /** How many of them the in-flight window admits (acknowledged in the last `inFlightMs` of an activation that was replaced). */
  readonly atRisk: number
  /** Lost beyond the in-flight window: always a problem. */
  readonly lostBeyondWindow: number
  /** Increments in the final total beyond every one that may have been applied. */
  readonly extra: number
  readonly readsDisagree: boolean
}

export interface Overlap {
  readonly actor: string
  readonly a: { act: string; node: string; from: number; to: number }
  readonly b: { act: string; node: string; from: number; to: number }
}

export interface TaskVerdict {
  readonly submitted: number
  readonly neverRun: string[]
  readonly notRecordedOnce: Array<{ task: string; records: number }>
  readonly ranMoreThanOnce: number
}

export interface CheckOptions {
  /** The in-flight window of an answer-before-store policy (ms); 0 (default): nothing may be lost. */
  readonly inFlightMs?: number
}

export interface Verdict {
  readonly counters: CounterVerdict[]
  /** Acknowledged increments lost beyond the in-flight window. */
  readonly lostAcknowledged: number
  /** Acknowledged increments lost within the in-flight window (admitted). */
  readonly lostInFlight: number
  readonly extraApplied: number
  readonly overlaps: Overlap[]
  readonly tasks: TaskVerdict
  /** Longest stretch without an acknowledged operation, per client (ms). */
  readonly longestGapMs: Record<string, number>
  readonly ok: boolean
  /** One line per problem found. */
  readonly problems: string[]
}

export function checkCounters(ops: ReadonlyArray<Op>, options: CheckOptions = {}): CounterVerdict[] {
  const adds = new Map<string, AddOp[]>()
  const reads = new Map<string, ReadOp[]>()
  for (const op of ops) {
    if (op.kind === "add") push(adds, op.actor, op)
    else if (op.kind === "read") push(reads, op.actor, op)
  }
  const actors = [...new Set([...adds.keys(), ...reads.keys()])].sort()
  return actors.map((actor) => {
    const a = adds.get(actor) ?? []
    const acknowledged = sum(a.filter((o) => o.outcome === "ok").map((o) => o.n))
    const unknown = sum(a.filter((o) => o.outcome !== "ok").map((o) => o.n))
    const finals = (reads.get(actor) ?? []).sort((x, y) => x.at - y.at).map((r) => r.total)
    const worst = finals.length === 0 ? 0 : Math.min(...finals)
    const most = finals.length === 0 ? 0 : Math.max(...finals)
    const lost = finals.length === 0 ? acknowledged : Math.max(0, acknowledged - worst)
    const lastRead = (reads.get(actor) ?? []).at(-1)
    const atRisk = finals.length === 0 ? 0 : inFlight(a, options.inFlightMs ?? 0, lastRead?.act)
    return {
      actor,
      acknowledged,
      unknown,
      finals,
      lost,
      atRisk,
      lostBeyondWindow: Math.max(0, lost - atRisk),
      extra: Math.max(0, most - (acknowledged + unknown)),
      readsDisagree: new Set(finals).size > 1,
    }
  })
}

/** Increments acknowledged in the last `windowMs` of each activation that ended (`final`: the one still serving). */
function inFlight(adds: AddOp[], windowMs: number, final: string | undefined): number {
  if (windowMs <= 0) return 0
  const acts = new Map<string, AddOp[]>()
  for (const o of adds) if (o.outcome === "ok" && o.act !== undefined) push(acts, o.act, o)
  const ends = [...acts].map(([act, w]) => ({ act, w, end: Math.max(...w.map((o) => o.completeAt)) }))
  const last = Math.max(...ends.map((e) => e.end))
  let n = 0
  for (const e of ends) {
    if (final !== undefined ? e.act === final : e.end === last) continue
    for (const o of e.w) if (o.completeAt >= e.end - windowMs) n += o.n
  }
  return n
}

export function checkActivations(ops: ReadonlyArray<Op>): Overlap[] {
  const byActor = new Map<string, Map<string, AddOp[]>>()
  for (const op of ops) {
    if (op.kind !== "add" || op.outcome !== "ok" || op.act === undefined) continue
    let acts = byActor.get(op.actor)
    if (!acts) byActor.set(op.actor, (acts = new Map()))
    push(acts, op.act, op)
  }
  const out: Overlap[] = []
  for (const [actor, acts] of byActor) {
    const spans = [...acts].map(([act, writes]) => ({
      act,
      node: writes[0].node ?? "?",
      writes,
      // certainly active from the first answer to the last sending
      from: Math.min(...writes.map((w) => w.completeAt)),
      to: Math.max(...writes.map((w) => w.invokeAt)),
    }))
    for (let i = 0; i < spans.length; i++) {
      for (let j = i + 1; j < spans.length; j++) {
        const x = spans[i]
        const y = spans[j]
        const inside = (s: typeof x, w: AddOp) => s.from < s.to && w.invokeAt > s.from && w.completeAt < s.to
        const meet = x.from <= x.to && y.from <= y.to && x.from <= y.to && y.from <= x.to
        if (meet || x.writes.some((w) => inside(y, w)) || y.writes.some((w) => inside(x, w))) {
          out.push({ actor, a: { act: x.act, node: x.node, from: x.from, to: x.to }, b: { act: y.act, node: y.node, from: y.from, to: y.to } })
        }
      }
    }
  }
  return out
}

export function checkTasks(ops: ReadonlyArray<Op>): TaskVerdict {
  const submitted = new Set<string>()
  const runs = new Map<string, number>()
  const records = new Map<string, number>()
  for (const op of ops) {
    if (op.kind === "submit" && op.outcome === "ok") submitted.add(op.task)
    else if (op.kind === "run") runs.set(op.task, (runs.get(op.task) ?? 0) + 1)
    else if (op.kind === "record") records.set(op.task, (records.get(op.task) ?? 0) + op.records)
  }
  const ids = [...submitted].sort()
  return {
    submitted: ids.length,
    neverRun: ids.filter((t) => !runs.has(t)),
    notRecordedOnce: ids.filter((t) => records.get(t) !== 1).map((task) => ({ task, records: records.get(task) ?? 0 })),
    ranMoreThanOnce: ids.filter((t) => (runs.get(t) ?? 0) > 1).length,
  }
}

/**
 * Per client: the longest time one of its actors (or its task submissions) went without an
 * acknowledgement while the client kept asking: between two acknowledgements, or from the first
 * try to the first one, or from the last one to the last try.
 */
export function longestGaps(ops: ReadonlyArray<Op>): Record<string, number> {
  const streams = new Map<string, { client: string; list: Array<AddOp | SubmitOp> }>()
  for (const op of ops) {
    if (op.kind !== "add" && op.kind !== "submit") continue
    const key = `${op.client}\u0000${op.kind === "add" ? op.actor : ""}`
    let s = streams.get(key)
    if (!s) streams.set(key, (s = { client: op.client, list: [] }))
    s.list.push(op)
  }
  const out: Record<string, number> = {}
  for (const { client, list } of streams.values()) {
    const first = Math.min(...list.map((o) => o.invokeAt))
    const last = Math.max(...list.map((o) => o.completeAt))
    const oks = list.filter((o) => o.outcome === "ok").map((o) => o.completeAt).sort((a, b) => a - b)
    let gap = 0
    let prev = first
    for (const t of oks) {
      gap = Math.max(gap, t - prev)
      prev = t
    }
    out[client] = Math.max(out[client] ?? 0, gap, last - prev)
  }
  return out
}

export function checkHistory(ops: ReadonlyArray<Op>, options: CheckOptions = {}): Verdict {
  const counters = checkCounters(ops, options)
  const overlaps = checkActivations(ops)
  const tasks = checkTasks(ops)
  const problems: string[] = []
  for (const c of counters) {
    if (c.lostBeyondWindow > 0) {
      const window = c.atRisk > 0 ? `, ${c.atRisk} of them in an in-flight window` : ""
      problems.push(`${c.actor}: ${c.lost} acknowledged increment(s) lost (acknowledged ${c.acknowledged}, final ${c.finals.join("/") || "never read"}${window})`)
    }
    if (c.extra > 0) problems.push(`${c.actor}: ${c.extra} increment(s) applied beyond what was sent (acknowledged ${c.acknowledged} + unknown ${c.unknown}, final ${c.finals.join("/")})`)
    if (c.readsDisagree) problems.push(`${c.actor}: final reads disagree (${c.finals.join(", ")})`)
  }
  for (const o of overlaps) {
    problems.push(`${o.actor}: activations ${o.a.act}@${o.a.node} [${o.a.from}, ${o.a.to}] and ${o.b.act}@${o.b.node} [${o.b.from}, ${o.b.to}] both acknowledged writes at overlapping times`)
  }
  if (tasks.neverRun.length > 0) problems.push(`${tasks.neverRun.length} acknowledged task(s) never ran: ${tasks.neverRun.slice(0, 5).join(", ")}`)
  if (tasks.notRecordedOnce.length > 0) problems.push(`${tasks.notRecordedOnce.length} task(s) not recorded exactly once: ${tasks.notRecordedOnce.slice(0, 5).map((t) => `${t.task} (${t.records})`).join(", ")}`)
  const lostAcknowledged = sum(counters.map((c) => c.lostBeyondWindow))
  const lostInFlight = sum(counters.map((c) => c.lost - c.lostBeyondWindow))
  const extraApplied = sum(counters.map((c) => c.extra))
  return { counters, lostAcknowledged, lostInFlight, extraApplied, overlaps, tasks, longestGapMs: longestGaps(ops), ok: problems.length === 0, problems }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k)
  if (a) a.push(v)
  else m.set(k, [v])
}

function sum(xs: number[]): number {
  let s = 0
  for (const x of xs) s += x
  return s
}
