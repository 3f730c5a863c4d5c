/**
 * The rules of a trail, as pure functions: how its strength decays with time, how a deposit and
 * a reinforcement are validated and turned into the entry that is stored, and the checks of the
 * values a caller hands in (type, strength, TTL, curve, emitter, data, artifact status). The
 * stored form and the key layout are the wire contract in subjects/pheromones.ts.
 *
 * Pure code: no sockets. Functions that need the time take `now`.
 */
import {
  DECAY_CURVES,
  MAX_DATA_BYTES,
  MAX_EMITTER_LENGTH,
  MAX_TTL_MS,
  MIN_TTL_MS,
  PHEROMONE_TYPES,
  PheromoneError,
  STRENGTH_LEVELS,
  TYPE_DEFAULTS,
  ARTIFACT_STATUSES,
  locationValue,
  shortToken,
  type DecayCurve,
  type PheromoneEntry,
  type PheromoneType,
  type StrengthLevel,
} from "../../subjects/pheromones.ts"
import { isToken } from "../../subjects/grammar.ts"

/** Exponential decay loses half its strength every TTL / HALF_LIVES_PER_TTL. */
export const HALF_LIVES_PER_TTL = 4

/** Strength of a deposit that names none. */
export const DEFAULT_STRENGTH = STRENGTH_LEVELS.medium
/** What `reinforce` adds when no amount is given. */
export const DEFAULT_REINFORCEMENT = STRENGTH_LEVELS.low


// ---------------------------------------------------------------------------------------
// Validation of inputs (throws PheromoneError; nothing here touches the network)

export function pheromoneType(v: unknown): PheromoneType {
  if (typeof v === "string" && (PHEROMONE_TYPES as ReadonlyArray<string>).includes(v)) return v as PheromoneType
  throw new PheromoneError("invalid_type", `unknown pheromone type ${JSON.stringify(v)}: use one of ${PHEROMONE_TYPES.join(", ")}`)
}

/** A strength in (0, 1] given as a number or a level name (`trace`, `low`, `medium`, `high`, `critical`). */
export function strengthValue(v: unknown, what = "strength"): number {
  if (typeof v === "string" && v in STRENGTH_LEVELS) return STRENGTH_LEVELS[v as StrengthLevel]
  if (typeof v === "number" && v > 0 && v <= 1) return v
  throw new PheromoneError(
    "invalid_strength",
    `${what} ${JSON.stringify(v)} is out of range: use a number in (0, 1] or one of ${Object.keys(STRENGTH_LEVELS).join(", ")}`,
  )
}

export function ttlValue(v: unknown): number {
  if (typeof v === "number" && Number.isFinite(v) && v >= MIN_TTL_MS && v <= MAX_TTL_MS) return Math.round(v)
  throw new PheromoneError("invalid_ttl", `ttlMs ${JSON.stringify(v)} is out of range: use ${MIN_TTL_MS}..${MAX_TTL_MS} ms`)
}

export function decayValue(v: unknown): DecayCurve {
  if (v === "linear" || v === "exponential") return v
  throw new PheromoneError("invalid_decay", `decay ${JSON.stringify(v)} is not one of ${DECAY_CURVES.join(", ")}`)
}

export function emitterValue(v: unknown): string {
  if (typeof v === "string" && v.length > 0 && v.length <= MAX_EMITTER_LENGTH) return v
  throw new PheromoneError("invalid_emitter", `emitter must be a non-empty string of at most ${MAX_EMITTER_LENGTH} characters`)
}

const utf8 = new TextEncoder()

/** JSON-encodes `data` and checks its size; returns the value as it will be stored. */
export function dataValue(v: unknown, limit = MAX_DATA_BYTES): unknown {
  if (v === undefined) return {}
  let json: string | undefined
  try {
    json = JSON.stringify(v)
  } catch (e) {
    throw new PheromoneError("invalid_data", `data is not JSON-serialisable: ${(e as Error).message}`, { cause: e })
  }
  if (json === undefined) throw new PheromoneError("invalid_data", "data is not JSON-serialisable")
  // Cheap upper bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  const bytes = json.length * 3 <= limit ? json.length : utf8.encode(json).length
  if (bytes > limit) {
    throw new PheromoneError("data_too_large", `data is ${bytes} bytes of JSON; the limit is ${limit}`, { details: { bytes, limit } })
  }
  return v
}

export function statusValue(v: unknown): string {
  shortToken("invalid_status", "status", v)
  if (isToken(v)) return v
  throw new PheromoneError("invalid_status", `status ${JSON.stringify(v)} must be one token (e.g. ${ARTIFACT_STATUSES.join(", ")})`)
}


// ---------------------------------------------------------------------------------------
// Decay

export interface Decaying {
  readonly strength: number
  readonly depositedAt: number
  readonly ttlMs: number
  readonly decay: DecayCurve
}

/** The strength of a trail at `now` (epoch ms); 0 once its TTL has run out. */
export function currentStrength(e: Decaying, now: number): number {
  const age = now - e.depositedAt
  if (age >= e.ttlMs) return 0
  if (age <= 0) return e.strength
  const x = age / e.ttlMs
  return e.decay === "exponential" ? e.strength * Math.pow(2, -HALF_LIVES_PER_TTL * x) : e.strength * (1 - x)
}

/** When (epoch ms) the trail's current strength reaches 0. */
export function expiresAt(e: Decaying): number {
  return e.depositedAt + e.ttlMs
}

// ---------------------------------------------------------------------------------------
// Deposit and reinforcement as pure transformations

export interface DepositInput {
  readonly type: PheromoneType | string
  /** A number in (0, 1] or a level name; default `medium` (0.5). */
  readonly strength?: number | StrengthLevel
  /** Dotted tokens, e.g. `finance.reconciliation`. */
  readonly location: string
  /** One token; default a fresh unique id. Depositing on an existing id replaces that trail. */
  readonly id?: string
  /** Default: the type's TTL (TYPE_DEFAULTS). */
  readonly ttlMs?: number
  /** Default: the type's curve (TYPE_DEFAULTS). */
  readonly decay?: DecayCurve
  /** Any JSON, at most MAX_DATA_BYTES; default `{}`. */
  readonly data?: unknown
}

/** Validates a deposit and builds the entry to store (reinforcements 0). */
export function makeEntry(input: DepositInput, emitter: string, now: number): PheromoneEntry {
  if (input === null || typeof input !== "object") throw new PheromoneError("invalid_request", "deposit needs an object {type, location, ...}")
  const type = pheromoneType(input.type)
  const defaults = TYPE_DEFAULTS[type]
  return {
    type,
    strength: input.strength === undefined ? DEFAULT_STRENGTH : strengthValue(input.strength),
    location: locationValue(input.location),
    emitter: emitterValue(emitter),
    depositedAt: now,
    ttlMs: input.ttlMs === undefined ? defaults.ttlMs : ttlValue(input.ttlMs),
    decay: input.decay === undefined ? defaults.decay : decayValue(input.decay),
    reinforcements: 0,
    data: dataValue(input.data),
  }
}

export interface ReinforceInput {
  /** What to add, a number in (0, 1] or a level name; default `low` (0.3). The result is capped at 1. */
  readonly strength?: number | StrengthLevel
  /** A new TTL for the refreshed life; default the trail's own. */
  readonly ttlMs?: number
  /** Replaces the trail's data when given. */
  readonly data?: unknown
}

/** The validated parts of a reinforcement (checked once, before any read or retry). */
export interface Reinforcement {
  readonly amount: number
  readonly ttlMs?: number
  readonly data?: unknown
}

export function makeReinforcement(input: ReinforceInput = {}): Reinforcement {
  return {
    amount: input.strength === undefined ? DEFAULT_REINFORCEMENT : strengthValue(input.strength, "reinforcement"),
    ttlMs: input.ttlMs === undefined ? undefined : ttlValue(input.ttlMs),
    data: input.data === undefined ? undefined : dataValue(input.data),
  }
}

/**
 * Applies a reinforcement to a live trail: strength = min(1, current + amount), a fresh life
 * from `now`, one more reinforcement counted. Returns undefined when the trail has evaporated.
 */
export function reinforceEntry(e: PheromoneEntry, r: Reinforcement, now: number): PheromoneEntry | undefined {
  const current = currentStrength(e, now)
  if (current <= 0) return undefined
  // Built field by field: `e` may be a richer object (a Trail) and only the entry is stored.
  return {
    type: e.type,
    strength: Math.min(1, current + r.amount),
    location: e.location,
    emitter: e.emitter,
    depositedAt: now,
    ttlMs: r.ttlMs ?? e.ttlMs,
    decay: e.decay,
    reinforcements: e.reinforcements + 1,
    data: r.data === undefined ? e.data : r.data,
  }
}
