/**
 * Opening the cluster's KV buckets while JetStream settles (a stream just created, a leader
 * being elected): retry with backoff within a time limit (a revision conflict is told apart by
 * `isWrongLastSequence` in subjects/jetstream.ts).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { backoffCap, type Backoff } from "../../supervisors/backoff.ts"

/** 50 ms, doubling, at most 1 s. */
const SETTLE_BACKOFF: Backoff = { initialMs: 50, maxMs: 1_000, multiplier: 2, jitter: 0 }

/** Runs `f` until it succeeds or `withinMs` passed (JetStream settling after a create or a leader change). */
export async function retrying<T>(f: () => Promise<T>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs
  for (let attempt = 0; ; attempt++) {
    const wait = backoffCap(SETTLE_BACKOFF, attempt)
    try {
      return await f()
    } catch (e) {
      if (Date.now() + wait > deadline) throw e
      await new Promise((r) => setTimeout(r, wait))
    }
  }
}

/** Creates a KV bucket, or opens it when it exists with another configuration (and says so). */
export async function openBucket(
  nc: NatsConnection,
  name: string,
  config: { history: number; ttl: number; replicas: number },
  log: (level: "info" | "warn" | "error", message: string) => void,
): Promise<KV> {
  const kvm = new Kvm(nc)
  try {
    return await retrying(() => kvm.create(name, config), 5_000)
  } catch (e) {
    log("warn", `could not create KV bucket ${name} as configured (${(e as Error).message}); opening it as it is`)
    return await retrying(() => kvm.open(name), 20_000)
  }
}
