/**
 * Load generators shared by the scenarios: a closed loop (N workers each waiting for its reply
 * before sending the next, the way ask concurrency is usually measured), and the alternation of
 * a raw baseline with the ANTS path in rounds, so that both see the same machine noise.
 */
import { Samples } from "./stats.ts"

export interface LoopResult {
  readonly ops: number
  readonly errors: number
  readonly elapsedMs: number
  /** Completed operations per second. */
  readonly throughput: number
  /** Latency of each successful operation, ms. */
  readonly latencies: Float64Array
}

/**
 * Runs `op(worker, i)` from `concurrency` workers until `durationMs` has passed (or `maxOps`
 * operations were started). Each worker awaits its operation before starting the next.
 */
export async function closedLoop(
  concurrency: number,
  limits: { readonly durationMs?: number; readonly maxOps?: number },
  op: (worker: number, i: number) => Promise<unknown>,
): Promise<LoopResult> {
  const samples = new Samples()
  let started = 0
  let errors = 0
  const t0 = performance.now()
  const deadline = limits.durationMs !== undefined ? t0 + limits.durationMs : Number.POSITIVE_INFINITY
  const maxOps = limits.maxOps ?? Number.POSITIVE_INFINITY
  const worker = async (w: number) => {
    while (started < maxOps) {
      const now = performance.now()
      if (now >= deadline) return
      const i = started++
      try {
        await op(w, i)
        samples.push(performance.now() - now)
      } catch {
        errors++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)))
  const elapsedMs = performance.now() - t0
  const ops = samples.length
  return { ops, errors, elapsedMs, throughput: (ops * 1000) / elapsedMs, latencies: samples.view() }
}

/**
 * Runs `rounds` rounds of the raw baseline and the ANTS measurement, alternating which goes
 * first, and returns both series. The caller takes medians.
 */
export async function alternate<T>(
  rounds: number,
  raw: (round: number) => Promise<T>,
  ants: (round: number) => Promise<T>,
  onRound?: (round: number) => void,
): Promise<{ raw: T[]; ants: T[] }> {
  const out = { raw: [] as T[], ants: [] as T[] }
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      out.raw.push(await raw(r))
      out.ants.push(await ants(r))
    } else {
      out.ants.push(await ants(r))
      out.raw.push(await raw(r))
    }
    onRound?.(r)
  }
  return out
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Polls `cond` every `everyMs` until true or `timeoutMs` passes; returns whether it became true. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return true
    if (Date.now() >= deadline) return false
    await sleep(everyMs)
  }
}

/** A text of `bytes` ASCII characters (the payload of ask/tell messages). */
export function payloadText(bytes: number): string {
  return "x".repeat(Math.max(0, bytes))
}
