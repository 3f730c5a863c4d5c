/**
 * Prometheus metrics read when scraped, not kept on the hot path: a `CollectedMetric` asks a
 * function for its samples at scrape time (the node already counts everything it reports:
 * the message ledger, type stats, rejections), and `AskLatency` keeps bucket counts in plain
 * arrays, one series per agent type and tag, found once per tag by the caller and then bumped
 * with a loop over the bounds (no label hashing per observation, as prom-client's own
 * `Histogram.observe` does). Both plug into a prom-client `Registry` as metrics, so the
 * registry's text exposition, content type and default process metrics work as usual.
 */
import type { Registry } from "prom-client"

export type Labels = Readonly<Record<string, string | number>>

export interface Sample {
  readonly labels?: Labels
  readonly value: number
}

export interface MetricSpec {
  readonly name: string
  readonly help: string
  readonly type: "counter" | "gauge"
  /** The samples now; may be async (a stream's depth read from JetStream). */
  collect(): Iterable<Sample> | Promise<Iterable<Sample>>
}

interface MetricValue {
  readonly labels: Labels
  readonly value: number
  readonly metricName?: string
}

/** What prom-client's registry reads of a metric (`get()`), written for metrics collected at scrape time. */
class CollectedMetric {
  readonly aggregator = "sum"
  constructor(private readonly spec: MetricSpec) {}
  get name(): string {
    return this.spec.name
  }
  get help(): string {
    return this.spec.help
  }
  get type(): string {
    return this.spec.type
  }
  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    const values: MetricValue[] = []
    for (const s of await this.spec.collect()) values.push({ labels: s.labels ?? {}, value: s.value })
    return { name: this.spec.name, help: this.spec.help, type: this.spec.type, values, aggregator: this.aggregator }
  }
}

/** Registers a metric collected at scrape time. */
export function registerCollected(registry: Registry, spec: MetricSpec): void {
  registry.registerMetric(new CollectedMetric(spec) as unknown as Parameters<Registry["registerMetric"]>[0])
}

/** Upper bounds (seconds) of the ask latency buckets: half a millisecond to 30 s (model-backed handlers are slow). */
export const ASK_LATENCY_BUCKETS: ReadonlyArray<number> = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** One series of the histogram (a type and a tag): what the hot path holds and bumps. */
export class LatencySeries {
  readonly counts = new Float64Array(ASK_LATENCY_BUCKETS.length + 1)
  sum = 0
  count = 0
  constructor(readonly labels: Labels) {}
  /** One ask, answered `ms` milliseconds after the node took it. */
  observe(ms: number): void {
    const s = ms / 1000
    this.sum += s
    this.count++
    let i = 0
    while (i < ASK_LATENCY_BUCKETS.length && s > ASK_LATENCY_BUCKETS[i]!) i++
    this.counts[i]!++
  }
}

/** `ants_ask_duration_seconds{type,tag}`: the time from the node taking an ask to its answer. */
export class AskLatency {
  static readonly NAME = "ants_ask_duration_seconds"
  private readonly series = new Map<string, LatencySeries>()

  /** The series of a type and tag (made on first use); hold it and call `observe`. */
  seriesOf(type: string, tag: string): LatencySeries {
    const key = `${type}\u0000${tag}`
    let s = this.series.get(key)
    if (s === undefined) this.series.set(key, (s = new LatencySeries({ type, tag })))
    return s
  }

  register(registry: Registry): void {
    const name = AskLatency.NAME
    const help = "Time from the node taking an ask to its answer (queueing, handler, checkpoint when it precedes the reply), by agent type and tag."
    const metric = {
      name,
      help,
      type: "histogram",
      aggregator: "sum",
      get: async () => {
        const values: MetricValue[] = []
        for (const s of this.series.values()) {
          let cumulative = 0
          for (let i = 0; i < ASK_LATENCY_BUCKETS.length; i++) {
            cumulative += s.counts[i]!
            values.push({ labels: { ...s.labels, le: ASK_LATENCY_BUCKETS[i]! }, value: cumulative, metricName: `${name}_bucket` })
          }
          values.push({ labels: { ...s.labels, le: "+Inf" }, value: s.count, metricName: `${name}_bucket` })
          values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` })
          values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` })
        }
        return { name, help, type: "histogram", values, aggregator: "sum" }
      },
    }
    registry.registerMetric(metric as unknown as Parameters<Registry["registerMetric"]>[0])
  }
}

/**
 * What a host calls when it answers an ask: finds the tag's series once and bumps it. `at` is
 * when the node took the message (`performance.now()`); a message without it (queued by a
 * path that does not time) is not observed.
 */
export function askLatencyObserver(latency: AskLatency | undefined, type: string): ((tag: string, at: number | undefined) => void) | undefined {
  if (latency === undefined) return undefined
  const byTag = new Map<string, LatencySeries>()
  return (tag, at) => {
    if (at === undefined) return
    let s = byTag.get(tag)
    if (s === undefined) byTag.set(tag, (s = latency.seriesOf(type, tag)))
    s.observe(performance.now() - at)
  }
}
