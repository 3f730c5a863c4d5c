/**
 * What the connected server can do for pheromones, decided once from the version it announced
 * at connect (`nc.info.version`). The only feature that changes behaviour is per-message TTL
 * (nats-server 2.11+): with it the server removes each trail at its own TTL and leaves a delete
 * marker; without it (2.9, 2.10) the bucket's max_age bounds every trail and sweepers remove
 * trails whose TTL ran out (see `sweeper.ts`).
 */
import type { NatsConnection } from "@nats-io/nats-core"

export interface PheromoneServerFeatures {
  readonly version: string
  /** Per-message TTL (`Nats-TTL` header, `allow_msg_ttl` streams) and subject delete markers. */
  readonly messageTtl: boolean
}

export function parseVersion(v: string | undefined): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v ?? "")
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0]
}

/** True when `version` is at least `min` (both `major.minor.patch`). */
export function versionAtLeast(version: string | undefined, min: string): boolean {
  const a = parseVersion(version)
  const b = parseVersion(min)
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i]
  return true
}

export function serverFeatures(nc: Pick<NatsConnection, "info">): PheromoneServerFeatures {
  const version = nc.info?.version ?? "0.0.0"
  return { version, messageTtl: versionAtLeast(version, "2.11.0") }
}
