/**
 * What the router learns about each deployment: latency and success as exponential moving
 * averages (alpha 0.2), output tokens per answer, calls in flight and calls in the last minute
 * (its load). Each node learns from its own results and shares a snapshot through a
 * `StatsSharing` port (the engine fills it with the `ants_model_stats` KV bucket); what other
 * nodes report is blended in, weighted by how many results each snapshot stands for.
 */
import type { Deployment } from "./config.ts"

export const EMA_ALPHA = 0.2
/** A snapshot counts for at most this many results when blended (old knowledge fades). */
const MAX_WEIGHT = 100

export interface StatsSnapshot {
  readonly latencyMs: number
  /** 0..1 */
  readonly success: number
  readonly outputTokens: number
  readonly samples: number
  /** Epoch ms of the snapshot. */
  readonly at: number
}

/** The port through which nodes share what they learned. */
export interface StatsSharing {
  publish(deployment: string, snapshot: StatsSnapshot): void
  /** Delivers other nodes' snapshots as they change; returns a function that stops delivery. */
  subscribe(onRemote: (deployment: string, node: string, snapshot: StatsSnapshot) => void): () => void
}

export class DeploymentStats {
  latencyMs = 0
  success = 1
  outputTokens = 256
  samples = 0
  inflight = 0
  /**
   * Calls per second of the last minute, a ring of 60 counters: recording is O(1) at any rate
   * (a list of call times spliced as it aged cost O(calls per minute) per call: tens of µs
   * per call at a thousand calls a second).
   */
  private readonly perSecond = new Uint32Array(60)
  /** The second (epoch s) each counter of the ring counts. */
  private readonly second = new Float64Array(60)
  readonly remote = new Map<string, StatsSnapshot>()

  record(ok: boolean, latencyMs: number, outputTokens: number | undefined, now: number): void {
    if (ok) {
      this.latencyMs = this.samples === 0 || this.latencyMs === 0 ? latencyMs : this.latencyMs + EMA_ALPHA * (latencyMs - this.latencyMs)
      if (outputTokens !== undefined) this.outputTokens += EMA_ALPHA * (outputTokens - this.outputTokens)
    }
    this.success += EMA_ALPHA * ((ok ? 1 : 0) - this.success)
    this.samples++
    const sec = Math.floor(now / 1000)
    const i = sec % 60
    if (this.second[i] !== sec) {
      this.second[i] = sec
      this.perSecond[i] = 0
    }
    this.perSecond[i]++
  }

  /** Calls recorded in the last minute (the current second and the 59 before it). */
  perMinute(now: number): number {
    const sec = Math.floor(now / 1000)
    let n = 0
    for (let i = 0; i < 60; i++) if (sec - this.second[i] < 60 && this.second[i] <= sec) n += this.perSecond[i]
    return n
  }

  snapshot(now: number): StatsSnapshot {
    return { latencyMs: this.latencyMs, success: this.success, outputTokens: this.outputTokens, samples: this.samples, at: now }
  }

  /** Latency and success blended with other nodes' snapshots; undefined latency when nobody has measured one. */
  blended(): { latencyMs: number | undefined; success: number; outputTokens: number } {
    let w = Math.min(this.samples, MAX_WEIGHT)
    let lat = this.latencyMs * w
    let suc = this.success * w
    let out = this.outputTokens * w
    let latW = this.latencyMs > 0 ? w : 0
    if (latW === 0) lat = 0
    for (const s of this.remote.values()) {
      const sw = Math.min(s.samples, MAX_WEIGHT)
      w += sw
      suc += s.success * sw
      out += s.outputTokens * sw
      if (s.latencyMs > 0) {
        lat += s.latencyMs * sw
        latW += sw
      }
    }
    if (w === 0) return { latencyMs: undefined, success: this.success, outputTokens: this.outputTokens }
    return { latencyMs: latW > 0 ? lat / latW : undefined, success: suc / w, outputTokens: out / w }
  }
}

/** A deployment's declared rate limits (the models file's `rateLimit`). */
type RateLimit = Deployment["rateLimit"]

/** How close a deployment is to its rate limits, 0..1 and beyond (the router's load bonus or penalty). */
export function rateLoad(rl: RateLimit, stats: DeploymentStats, now: number): number {
  if (!rl) return 0
  const conc = rl.maxConcurrent ? stats.inflight / rl.maxConcurrent : 0
  const rpm = rl.rpm ? stats.perMinute(now) / rl.rpm : 0
  return Math.max(conc, rpm)
}

/**
 * A deployment at its declared rate limit: as many calls in flight as `maxConcurrent`, or `rpm`
 * calls in the last minute (those in flight included). The router passes it over, as it does
 * one cooling down, until it is under its limits again.
 */
export function atRateLimit(rl: RateLimit, stats: DeploymentStats, now: number): boolean {
  if (!rl) return false
  if (rl.maxConcurrent !== undefined && stats.inflight >= rl.maxConcurrent) return true
  return rl.rpm !== undefined && stats.perMinute(now) + stats.inflight >= rl.rpm
}
