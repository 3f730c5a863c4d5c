/**
 * Opening the cluster's KV buckets while JetStream settles (a stream just created, a leader
 * being elected): `retrying` (supervisors/backoff.ts) within a time limit (a revision conflict
 * is told apart by `isWrongLastSequence` in subjects/jetstream.ts).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { retrying } from "../../supervisors/backoff.ts"

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
