/**
 * What readers get back: a stored PheromoneEntry plus where it lives (key, id, revision) and
 * what it is worth now (current strength and age). Also the shapes of watch events.
 */
import { PHEROMONE_TYPES, asPheromoneEntry, type PheromoneEntry, type PheromoneType } from "../../subjects/pheromones.ts"
import { currentStrength } from "./pheromone-rules.ts"

export type Trail = PheromoneEntry & {
  /** `<tenant>.<location...>.<id>` in `ants_pheromones`. */
  readonly key: string
  readonly tenant: string
  readonly id: string
  /** The KV revision; pass it on when you need to know the trail has not changed since. */
  readonly revision: number
  /** The decayed strength at the time it was read (always > 0 in results and events). */
  readonly current: number
  /** Milliseconds since `depositedAt` (the start of the trail's current life). */
  readonly ageMs: number
}

export interface Evaporation {
  readonly key: string
  readonly tenant: string
  readonly location: string
  readonly id: string
  /** Known from the marker's `Ants-Pheromone-Type` header or from the watch's own view. */
  readonly type: PheromoneType | undefined
  /** `expired`: its TTL ran out. `evaporated`: removed on purpose (`evaporate`, or a plain KV delete). */
  readonly reason: "expired" | "evaporated"
  /** Revision of the delete marker. */
  readonly revision: number
}

export interface PheromoneHandlers {
  deposited?(trail: Trail): void | Promise<void>
  reinforced?(trail: Trail): void | Promise<void>
  evaporated?(event: Evaporation): void | Promise<void>
}

const decoder = new TextDecoder()

export function decodeEntry(value: Uint8Array): PheromoneEntry | undefined {
  try {
    return asPheromoneEntry(JSON.parse(decoder.decode(value)))
  } catch {
    return undefined
  }
}

/**
 * Built field by field, not by spreading the entry: a spread copied every property through the
 * slow path (8% of a deposit loop's CPU, 2026-12-04) and carried along any extra field an
 * outside writer stored.
 */
export function toTrail(key: string, revision: number, entry: PheromoneEntry, now: number): Trail {
  const first = key.indexOf(".")
  return {
    type: entry.type,
    strength: entry.strength,
    location: entry.location,
    emitter: entry.emitter,
    depositedAt: entry.depositedAt,
    ttlMs: entry.ttlMs,
    decay: entry.decay,
    reinforcements: entry.reinforcements,
    data: entry.data,
    key,
    tenant: key.slice(0, first),
    id: key.slice(key.lastIndexOf(".") + 1),
    revision,
    current: currentStrength(entry, now),
    ageMs: Math.max(0, now - entry.depositedAt),
  }
}

export function asType(v: string | undefined): PheromoneType | undefined {
  return v !== undefined && (PHEROMONE_TYPES as ReadonlyArray<string>).includes(v) ? (v as PheromoneType) : undefined
}
