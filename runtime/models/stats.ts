/**
 * What the router learns about each deployment: latency and success as exponential moving
 * averages (alpha 0.2), output tokens per answer, calls in flight and calls in the last minute
 * (its load). Each node learns from its own results and shares a snapshot through a
 * `StatsSharing` port (the engine fills it with the `ants_model_stats` KV bucket); what other
 * nodes report is blended in, weighted by how many results each snapshot stands for.
 */

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
  private recent: number[] = []
  readonly remote = new Map<string, StatsSnapshot>()

  record(ok: boolean, latencyMs: number, outputTokens: number | undefined, now: number): void {
    if (ok) {
      this.latencyMs = this.samples === 0 || this.latencyMs === 0 ? latencyMs : this.latencyMs + EMA_ALPHA * (latencyMs - this.latencyMs)
      if (outputTokens !== undefined) this.outputTokens += EMA_ALPHA * (outputTokens - this.outputTokens)
    }
    this.success += EMA_ALPHA * ((ok ? 1 : 0) - this.success)
    this.samples++
    this.recent.push(now)
    // Bounded: calls older than a minute are dropped as new ones come.
    if (this.recent.length > 64 && this.recent[0] < now - 60_000) this.perMinute(now)
  }

  /** Calls started in the last minute. */
  perMinute(now: number): number {
    const cut = now - 60_000
    let i = 0
    while (i < this.recent.length && this.recent[i] < cut) i++
    if (i > 0) this.recent.splice(0, i)
    return this.recent.length
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
