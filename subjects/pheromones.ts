/**
 * Pheromones and the stigmergy workspace on JetStream KV: bucket names, key
 * layout, entry schemas, limits,. This page is the contract a plain
 * NATS client follows to read or write pheromones without our library.
 *
 * Buckets (JetStream KV; stream `KV_<bucket>`, subjects `$KV.<bucket>.<key>`):
 *
 *   ants_pheromones   key <tenant>.<location...>.<id>   value PheromoneEntry (JSON)
 *                     history 1, max_age = PHEROMONE_MAX_AGE_MS: the longest TTL a trail may
 *                     have (MAX_TTL_MS, 1 h) plus one minute, so that a sweeper always removes
 *                     an expired trail (and tells watchers) before the server silently does;
 *                     shorter TTLs are enforced by readers (current strength 0 = gone) and by
 *                     sweepers that delete expired entries.
 *   ants_workspace    key <tenant>.<artifact...>        value ArtifactEntry (JSON), history 5
 *
 * Limits: every key token at most MAX_KEY_TOKEN_LENGTH (128) characters, every whole key (and
 * key filter) at most MAX_KEY_BYTES (512) bytes; longer input is refused before it is sent.
 *
 * Keys. Every token matches [A-Za-z0-9_-]+ (subjects/grammar.ts). The first token is the tenant,
 * the last token of a pheromone key is the trail id, and everything between is the location
 * (one or more tokens, e.g. `finance.reconciliation`). So:
 *   - every trail of a tenant:                 `<tenant>.>`
 *   - every trail at or below a location:      `<tenant>.<location...>.>`   (what `detect` reads)
 *   - trails exactly at a location:            `<tenant>.<location...>.*`
 * Detection is therefore a prefix read of one subtree, never a scan of the world, and per-tenant
 * NATS permissions isolate tenants at the server too: writes on `$KV.<bucket>.<tenant>.>`,
 * single reads by the subject-addressed direct get `$JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<tenant>.>`,
 * and watches/detections through consumers created with the filter in the subject,
 * `$JS.API.CONSUMER.CREATE.KV_<bucket>.<name>.$KV.<bucket>.<tenant>.>` (see permissions.ts).
 *
 * A PheromoneEntry:
 *   {"type":"danger","strength":0.7,"location":"integrations.stripe","emitter":"default/payer/p1",
 *    "depositedAt":1732262400000,"ttlMs":60000,"decay":"linear","reinforcements":0,"data":{}}
 * `strength` is the strength at `depositedAt` (epoch ms). A reinforcement rewrites the entry with
 * strength = min(1, current + amount), depositedAt = now (a fresh life of `ttlMs`) and
 * reinforcements + 1. `reinforcements` is 0 for a fresh deposit, which is how a watcher tells a
 * deposit from a reinforcement.
 *
 * Current strength at time `now`, with age = now - depositedAt and T = ttlMs (0 once age >= T):
 *   linear        strength * (1 - age / T)
 *   exponential   strength * 2^(-HALF_LIVES_PER_TTL * age / T)   (half-life T/4, cut to 0 at T)
 * A trail whose current strength is 0 is gone: readers never return it. Decay compares the
 * reader's clock with the writer's `depositedAt`, so node clocks should be in sync (NTP); a
 * writer clock ahead of the reader counts as age 0.
 *
 * Evaporation markers. A trail removed before the server's max_age is deleted with a normal KV
 * delete marker (header `KV-Operation: DEL`) carrying two extra headers:
 *   Ants-Pheromone-Type: <type>                    so a watcher filtering by type can match it
 *   Ants-Evaporation:    expired | evaporated      expired = its TTL ran out (a sweeper noticed),
 *                                                  evaporated = removed on purpose (`evaporate`)
 * On servers with per-message TTL (2.11+) the server itself removes the entry at its TTL (header
 * `Nats-TTL` on every write, whole seconds, rounded up) and leaves a marker with
 * `Nats-Marker-Reason: MaxAge`, read as `expired`.
 *
 * Pure code: no sockets. Functions that need the time take `now`.
 */
import { TaggedError } from "./errors.ts"
import * as Schema from "effect/Schema"
import { SubjectError, isToken, path, token } from "./grammar.ts"
import { kvSubject } from "./jetstream.ts"

export const PHEROMONE_BUCKET = "ants_pheromones"
export const WORKSPACE_BUCKET = "ants_workspace"
/** One key per tenant: the node elected to sweep the tenant's expired trails (runtime/stigmergy/sweeper-election.ts). */
export const SWEEPER_BUCKET = "ants_sweepers"
/** History kept per artifact key (the last few transitions can be inspected with `nats kv history`). */
export const WORKSPACE_HISTORY = 5

/** The longest TTL a trail may have. */
export const MAX_TTL_MS = 60 * 60_000
/** The pheromone bucket's max_age: MAX_TTL_MS plus a minute of grace for sweepers. */
export const PHEROMONE_MAX_AGE_MS = MAX_TTL_MS + 60_000
/** The shortest TTL accepted. */
export const MIN_TTL_MS = 1
/** Size limit of a pheromone's `data` (UTF-8 bytes of its JSON). Signals are small; put payloads in the workspace. */
export const MAX_DATA_BYTES = 4096
/** Size limit of an artifact's `data` (UTF-8 bytes of its JSON). */
export const MAX_ARTIFACT_BYTES = 256 * 1024
/** Locations have at most this many tokens. */
export const MAX_LOCATION_TOKENS = 16
/** Emitters are free text (usually `<tenant>/<type>/<id>`) of at most this length. */
export const MAX_EMITTER_LENGTH = 256
/**
 * Longest token of a key (tenant, location token, trail id, artifact path token, status). Keys
 * become subjects (`$KV.<bucket>.<key>`); a subject past the server's control line (4 KiB)
 * makes the server drop the whole connection, so limits are checked before anything is sent.
 */
export const MAX_KEY_TOKEN_LENGTH = 128
/** Longest whole KV key (`<tenant>.<location...>.<id>` or `<tenant>.<artifact...>`), in bytes. */
export const MAX_KEY_BYTES = 512
export const EVAPORATION_HEADER = "Ants-Evaporation"
export const TYPE_HEADER = "Ants-Pheromone-Type"
/** Set by 2.11+ servers on the delete marker they leave when a message's TTL or max_age ends. */
export const MARKER_REASON_HEADER = "Nats-Marker-Reason"

export const KV_OPERATION_HEADER = "KV-Operation"

/** A message's headers, read one at a time (undefined when absent or empty). */
export type HeaderReader = (name: string) => string | undefined

/**
 * The KV operation a stored message stands for: `KV-Operation: DEL|PURGE` (our markers and
 * nats.js), else any 2.11+ server marker (`Nats-Marker-Reason`) is a removal, else a value.
 */
export function kvOperationOf(header: HeaderReader): "PUT" | "DEL" | "PURGE" {
  const op = header(KV_OPERATION_HEADER)
  if (op === "DEL" || op === "PURGE") return op
  return header(MARKER_REASON_HEADER) !== undefined ? "PURGE" : "PUT"
}

/**
 * Why a trail went, from its removal marker: our own `Ants-Evaporation` header when present;
 * else a 2.11+ server marker, where `Nats-Marker-Reason: MaxAge` (its TTL or the bucket's
 * max_age ran out) is `expired` and `Remove`/`Purge` (removed through the API) is
 * `evaporated`; a plain KV delete is `evaporated`.
 */
export function evaporationReason(header: HeaderReader): "expired" | "evaporated" {
  const why = header(EVAPORATION_HEADER)
  if (why === "expired" || why === "evaporated") return why
  return header(MARKER_REASON_HEADER) === "MaxAge" ? "expired" : "evaporated"
}

// ---------------------------------------------------------------------------------------
// Types, levels, curves

export const STRENGTH_LEVELS = { trace: 0.1, low: 0.3, medium: 0.5, high: 0.7, critical: 1 } as const
export type StrengthLevel = keyof typeof STRENGTH_LEVELS
export const DECAY_CURVES = ["linear", "exponential"] as const
export type DecayCurve = (typeof DECAY_CURVES)[number]

export const PHEROMONE_TYPES = ["task", "resource", "danger", "success", "capability", "load", "coordination"] as const
export type PheromoneType = (typeof PHEROMONE_TYPES)[number]

export interface TypeDefaults {
  readonly ttlMs: number
  readonly decay: DecayCurve
  /** Why this curve and life (shown in the README). */
  readonly why: string
}

/** Per-type defaults, used when a deposit names no TTL or decay. */
export const TYPE_DEFAULTS: { readonly [T in PheromoneType]: TypeDefaults } = {
  task: { ttlMs: 10 * 60_000, decay: "linear", why: "open work; its pull fades evenly until someone claims or re-deposits it" },
  resource: { ttlMs: 15 * 60_000, decay: "linear", why: "a resource's availability, refreshed by whoever holds or frees it" },
  danger: { ttlMs: 60_000, decay: "linear", why: "a failing or rate-limited dependency; routes work elsewhere for about a minute" },
  success: { ttlMs: 5 * 60_000, decay: "exponential", why: "a pattern that worked; the recent past matters most, memory lingers weakly" },
  capability: { ttlMs: 30 * 60_000, decay: "linear", why: "a request for a missing capability or integration; stays visible a long time" },
  load: { ttlMs: 30_000, decay: "exponential", why: "a load reading goes stale quickly; agents re-deposit it with every heartbeat" },
  coordination: { ttlMs: 2 * 60_000, decay: "linear", why: "short-lived rendezvous and hand-off marks" },
}

// ---------------------------------------------------------------------------------------
// Schemas

export const PheromoneTypeSchema = Schema.Literal(...PHEROMONE_TYPES)
export const DecayCurveSchema = Schema.Literal(...DECAY_CURVES)
const Strength = Schema.Number.pipe(Schema.between(0, 1))

/** One trail, as stored in `ants_pheromones`. */
export const PheromoneEntry = Schema.Struct({
  type: PheromoneTypeSchema,
  strength: Strength,
  location: Schema.String,
  emitter: Schema.String,
  depositedAt: Schema.Number,
  ttlMs: Schema.Number.pipe(Schema.between(MIN_TTL_MS, MAX_TTL_MS)),
  decay: DecayCurveSchema,
  reinforcements: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  data: Schema.Unknown,
})
export type PheromoneEntry = typeof PheromoneEntry.Type

export const decodePheromoneEntrySchema = Schema.decodeUnknownEither(PheromoneEntry)

/**
 * Returns the entry when `v` is a well-formed PheromoneEntry, else undefined. A hand-written
 * guard equivalent to the Schema (tested against it): detection decodes thousands of entries.
 */
export function asPheromoneEntry(v: unknown): PheromoneEntry | undefined {
  if (v === null || typeof v !== "object") return undefined
  const e = v as Record<string, unknown>
  if (typeof e.type !== "string" || !(PHEROMONE_TYPES as ReadonlyArray<string>).includes(e.type)) return undefined
  if (typeof e.strength !== "number" || !(e.strength >= 0 && e.strength <= 1)) return undefined
  if (typeof e.location !== "string" || typeof e.emitter !== "string") return undefined
  if (typeof e.depositedAt !== "number" || !Number.isFinite(e.depositedAt)) return undefined
  if (typeof e.ttlMs !== "number" || !(e.ttlMs >= MIN_TTL_MS && e.ttlMs <= MAX_TTL_MS)) return undefined
  if (e.decay !== "linear" && e.decay !== "exponential") return undefined
  if (typeof e.reinforcements !== "number" || !Number.isInteger(e.reinforcements) || e.reinforcements < 0) return undefined
  return e as unknown as PheromoneEntry
}

// ---------------------------------------------------------------------------------------
// Errors

export type PheromoneErrorCode =
  | "invalid_type"
  | "invalid_strength"
  | "invalid_location"
  | "invalid_ttl"
  | "invalid_decay"
  | "invalid_data"
  | "data_too_large"
  | "invalid_emitter"
  | "invalid_id"
  | "invalid_key"
  | "invalid_tenant"
  | "invalid_status"
  | "invalid_request"
  | "forbidden"
  | "not_found"
  | "conflict"

/**
 * Bad input or a failed precondition in the pheromone or workspace API. Check `_tag` and
 * `code`, not `instanceof`. Nothing was written when one is thrown.
 */
export class PheromoneError extends TaggedError("PheromoneError") {
  constructor(
    readonly code: PheromoneErrorCode,
    message: string,
    options?: { cause?: unknown; details?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    if (options?.details !== undefined) this.details = options.details
  }
  readonly details?: unknown
  /** The envelope error code this maps to (subjects/envelope.ts). */
  get wireCode(): "invalid_request" | "forbidden" | "not_found" | "conflict" {
    return this.code === "forbidden" || this.code === "not_found" || this.code === "conflict" ? this.code : "invalid_request"
  }
  toJSON(): { _tag: "PheromoneError"; code: PheromoneErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { _tag: this._tag, code: this.code, message: this.message }
      : { _tag: this._tag, code: this.code, message: this.message, details: this.details }
  }
}

export function isPheromoneError(e: unknown): e is PheromoneError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "PheromoneError"
}

// ---------------------------------------------------------------------------------------
// Validation of key tokens (throws PheromoneError; nothing here touches the network)

/** Throws when a token is longer than MAX_KEY_TOKEN_LENGTH (before the grammar looks at it). */
export function shortToken(code: PheromoneErrorCode, what: string, v: unknown): void {
  if (typeof v === "string" && v.length > MAX_KEY_TOKEN_LENGTH) {
    throw new PheromoneError(
      code,
      `${what} "${v.slice(0, 24)}…" is ${v.length} characters long; a token may have at most ${MAX_KEY_TOKEN_LENGTH} (letters, digits, '_' and '-')`,
      { details: { length: v.length, limit: MAX_KEY_TOKEN_LENGTH } },
    )
  }
}

/** Throws PheromoneError("invalid_key") when a key or key filter is longer than MAX_KEY_BYTES. */
export function boundedKey(key: string, what = "key"): string {
  // Keys are ASCII (tokens are [A-Za-z0-9_-]), so characters are bytes.
  if (key.length > MAX_KEY_BYTES) {
    throw new PheromoneError(
      "invalid_key",
      `${what} "${key.slice(0, 40)}…" would be ${key.length} bytes; keys (tenant, location or artifact path, id) may have at most ${MAX_KEY_BYTES}: use fewer or shorter tokens`,
      { details: { bytes: key.length, limit: MAX_KEY_BYTES } },
    )
  }
  return key
}

export function tenantValue(v: unknown): string {
  shortToken("invalid_tenant", "tenant", v)
  try {
    return token("tenant", v)
  } catch (e) {
    throw new PheromoneError("invalid_tenant", (e as Error).message, { cause: e })
  }
}

/** Validates a location (`finance.reconciliation` or its tokens) and returns its dotted form. */
export function locationValue(v: unknown): string {
  if (typeof v !== "string" && !Array.isArray(v)) {
    throw new PheromoneError("invalid_location", `location must be a dotted string of tokens, got ${JSON.stringify(v)}`)
  }
  const tokens = typeof v === "string" ? v.split(".") : (v as unknown[])
  for (const t of tokens) shortToken("invalid_location", "location token", t)
  boundedKey(typeof v === "string" ? v : tokens.join("."), "location")
  if (tokens.length > MAX_LOCATION_TOKENS) {
    throw new PheromoneError("invalid_location", `location has ${tokens.length} tokens; at most ${MAX_LOCATION_TOKENS} are allowed`)
  }
  let parts: string[]
  try {
    parts = path("token", v as string | string[])
  } catch (e) {
    const bad = e instanceof SubjectError ? e.value : String(v)
    throw new PheromoneError("invalid_location", `location ${JSON.stringify(v)} is malformed (token "${bad}"): use dot-separated tokens of letters, digits, '_' and '-'`, { cause: e })
  }
  return boundedKey(parts.join("."), "location")
}

export function idValue(v: unknown): string {
  shortToken("invalid_id", "id", v)
  if (isToken(v)) return v
  throw new PheromoneError("invalid_id", `id ${JSON.stringify(v)} must be one token of letters, digits, '_' and '-'`)
}

// ---------------------------------------------------------------------------------------
// Keys

export interface PheromoneKeyParts {
  readonly tenant: string
  readonly location: string
  readonly id: string
}

/** `<tenant>.<location...>.<id>` from validated parts. */
export function pheromoneKey(tenant: string, location: string, id: string): string {
  return boundedKey(`${tenant}.${location}.${id}`)
}

/** Splits a pheromone key; throws PheromoneError("invalid_key") when it is not one. */
export function parsePheromoneKey(key: unknown): PheromoneKeyParts {
  if (typeof key !== "string") throw new PheromoneError("invalid_key", `pheromone key must be a string, got ${JSON.stringify(key)}`)
  boundedKey(key)
  const t = key.split(".")
  if (t.length < 3 || t.length > MAX_LOCATION_TOKENS + 2 || !t.every(isToken) || t[0].startsWith("_")) {
    throw new PheromoneError("invalid_key", `"${key}" is not a pheromone key (<tenant>.<location...>.<id>)`)
  }
  return { tenant: t[0], location: t.slice(1, -1).join("."), id: t[t.length - 1] }
}

/**
 * The KV key filter of a detection or watch: the whole tenant (`<tenant>.>`), a location's
 * subtree (`<tenant>.<location>.>`), or with `exact` only the trails at the location itself
 * (`<tenant>.<location>.*`). Inputs must already be validated.
 */
export function pheromoneFilter(tenant: string, location?: string, exact = false): string {
  if (location === undefined || location === "") return `${tenant}.>`
  return boundedKey(`${tenant}.${location}.${exact ? "*" : ">"}`, "key filter")
}

/** The subject a KV write to `key` is published on. */
export function pheromoneSubject(key: string): string {
  return kvSubject(PHEROMONE_BUCKET, key)
}

// ---------------------------------------------------------------------------------------
// Stigmergy workspace

export const ARTIFACT_STATUSES = ["incomplete", "in_progress", "needs_review", "in_review", "done"] as const
/** A status is one of ARTIFACT_STATUSES or any custom token. */
export type ArtifactStatus = (typeof ARTIFACT_STATUSES)[number] | (string & {})

/** One artifact, as stored in `ants_workspace` under `<tenant>.<artifact...>`. */
export const ArtifactEntry = Schema.Struct({
  status: Schema.String,
  kind: Schema.String,
  data: Schema.Unknown,
  createdBy: Schema.String,
  createdAt: Schema.Number,
  updatedBy: Schema.String,
  updatedAt: Schema.Number,
  /** How many status transitions the artifact has gone through. */
  transitions: Schema.Number,
  /** The status before the last transition, if any. */
  previousStatus: Schema.optional(Schema.String),
  /**
   * Set while the artifact is claimed (moved to a claim status by a watcher, see
   * runtime/stigmergy/workspace.ts): who holds the claim, since when (epoch ms) and for how
   * long. A claim older than `claimedAt + leaseMs` is stale: any watcher of the same statuses
   * moves the artifact back to `previousStatus`, so another agent continues the work.
   */
  claimedBy: Schema.optional(Schema.String),
  claimedAt: Schema.optional(Schema.Number),
  leaseMs: Schema.optional(Schema.Number),
})
export type ArtifactEntry = typeof ArtifactEntry.Type

export const decodeArtifactEntry = Schema.decodeUnknownEither(ArtifactEntry)

/** An artifact id is a dotted path of tokens (`reports.q3`), at most MAX_LOCATION_TOKENS long. */
export function artifactIdValue(v: unknown): string {
  try {
    return locationValue(v)
  } catch (e) {
    const why = isPheromoneError(e) ? `: ${e.message}` : ""
    const shown = typeof v === "string" && v.length > 60 ? `"${v.slice(0, 40)}…"` : JSON.stringify(v)
    throw new PheromoneError("invalid_id", `artifact id ${shown} must be dot-separated tokens${why}`, { cause: e })
  }
}

/** `<tenant>.<artifact...>` */
export function artifactKey(tenant: string, id: string): string {
  return boundedKey(`${tenant}.${id}`)
}

/** The workspace filter for a tenant, optionally under an artifact path prefix. */
export function artifactFilter(tenant: string, prefix?: string): string {
  return boundedKey(prefix ? `${tenant}.${prefix}.>` : `${tenant}.>`, "key filter")
}
