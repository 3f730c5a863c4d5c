import { randomUUID } from "node:crypto"
import type { NatsConnection } from "@nats-io/nats-core"
import { mappedProbePattern, mappingProbeSubject } from "../../subjects/grammar.ts"

/** Learns whether the server rewrites agent subjects into partitions (nats.conf's mapping). */
export async function detectMapping(nc: NatsConnection): Promise<"partitioned" | "direct"> {
  const nonce = randomUUID().replace(/-/g, "")
  const probe = mappingProbeSubject(nonce)
  let mapped = false
  let direct = false
  // ants._sys.agent.probe.<nonce>.Probe becomes ants._part.<p>._sys.probe.<nonce>.Probe when mapped
  const subMapped = nc.subscribe(mappedProbePattern(nonce), { callback: () => void (mapped = true) })
  const subDirect = nc.subscribe(probe, { callback: () => void (direct = true) })
  await nc.flush()
  for (let i = 0; i < 50 && !mapped && !direct; i++) {
    nc.publish(probe)
    await nc.flush()
    await new Promise((r) => setTimeout(r, 10))
  }
  subMapped.unsubscribe()
  subDirect.unsubscribe()
  return mapped ? "partitioned" : "direct"
}
