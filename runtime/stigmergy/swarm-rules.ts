/**
 * The seed's swarm rules as small helpers over a `Pheromones` instance (usually
 * `ctx.pheromones`). Each rule has a pure core (tested without a server) and an async helper
 * that does the prefix reads.
 *
 *   1. Follow the strongest relevant pheromone matching your capabilities: `followStrongest`.
 *      A trail asks for a capability through its data: `data.capability` (a string) or
 *      `data.capabilities` (strings, any of which will do). A trail that names none is open to
 *      everyone.
 *   2. Avoid locations with a live `danger` trail: `safeLocations` / `isDangerous`. A danger
 *      trail at `integrations.stripe` makes that location and everything below it dangerous
 *      (`integrations.stripe.refunds`), not its parent or siblings.
 *   3. Share successful patterns: `depositSuccess` deposits `success` (default high, the type's
 *      5-minute exponential life) with the pattern in its data and its id derived from the
 *      pattern, reinforcing the trail when others already marked the same pattern there, so a
 *      pattern many agents succeed with grows strongest; `strongestPatterns` reads them back.
 *   4. Help overloaded peers when idle: `findOverloaded` lists live `load` trails at or above a
 *      threshold (default 0.9, the seed's scale-up mark).
 */
import { isToken } from "../../subjects/grammar.ts"
import { PheromoneError, type PheromoneType, type StrengthLevel } from "../../subjects/pheromones.ts"
import type { Pheromones } from "./pheromones.ts"
import type { Trail } from "./trail.ts"

/** The capabilities a trail asks for (empty: anyone may follow it). */
export function requiredCapabilities(trail: Pick<Trail, "data">): string[] {
  const d = trail.data as { capability?: unknown; capabilities?: unknown } | null
  if (!d || typeof d !== "object") return []
  if (typeof d.capability === "string") return [d.capability]
  if (Array.isArray(d.capabilities)) return d.capabilities.filter((c): c is string => typeof c === "string")
  return []
}

export function matchesCapabilities(trail: Pick<Trail, "data">, capabilities: ReadonlyArray<string>): boolean {
  const need = requiredCapabilities(trail)
  return need.length === 0 || need.some((c) => capabilities.includes(c))
}

/** True when a live danger trail sits at `location` or above it. */
export function isDangerous(location: string, dangers: ReadonlyArray<Pick<Trail, "location" | "type" | "current">>): boolean {
  return dangers.some((d) => d.type === "danger" && d.current > 0 && (d.location === location || location.startsWith(`${d.location}.`)))
}

/** Rule 1, pure: the strongest trail this agent can follow, skipping dangerous locations. */
export function chooseStrongest(
  trails: ReadonlyArray<Trail>,
  capabilities: ReadonlyArray<string>,
  dangers: ReadonlyArray<Trail> = [],
): Trail | undefined {
  let best: Trail | undefined
  for (const t of trails) {
    if (t.type === "danger" || t.current <= 0) continue
    if (!matchesCapabilities(t, capabilities) || isDangerous(t.location, dangers)) continue
    if (!best || t.current > best.current) best = t
  }
  return best
}

/** Every proper ancestor of a location, and itself: `a.b.c` -> `a`, `a.b`, `a.b.c`. */
function selfAndAncestors(location: string): string[] {
  const parts = location.split(".")
  return parts.map((_, i) => parts.slice(0, i + 1).join("."))
}

/** Live danger trails that can make `location` (or anything under it) dangerous: prefix reads only. */
async function dangersAround(ph: Pheromones, location: string | undefined, minStrength?: number | StrengthLevel): Promise<Trail[]> {
  if (location === undefined) return await ph.detect({ types: ["danger"], minStrength })
  const ancestors = selfAndAncestors(location).slice(0, -1)
  const reads = [
    ph.detect({ types: ["danger"], location, minStrength }),
    ...ancestors.map((a) => ph.detect({ types: ["danger"], location: a, exact: true, minStrength })),
  ]
  return (await Promise.all(reads)).flat()
}

export interface FollowOptions {
  readonly capabilities: ReadonlyArray<string>
  /** Where to look (a location prefix); default the whole tenant. */
  readonly location?: string
  /** Which trails are work to follow; default `task`. */
  readonly types?: ReadonlyArray<PheromoneType>
  readonly minStrength?: number | StrengthLevel
  /** Skip trails in locations with a live danger trail (default true). */
  readonly avoidDanger?: boolean
}

/** Rule 1 (with rule 2): the strongest live trail under `location` this agent can follow. */
export async function followStrongest(ph: Pheromones, opts: FollowOptions): Promise<Trail | undefined> {
  const types = opts.types ?? ["task"]
  const [trails, dangers] = await Promise.all([
    ph.detect({ types, location: opts.location, minStrength: opts.minStrength }),
    opts.avoidDanger === false ? Promise.resolve([]) : dangersAround(ph, opts.location),
  ])
  return chooseStrongest(trails, opts.capabilities, dangers)
}

/** Rule 2: the given locations without a live danger trail at or above them, in order. */
export async function safeLocations(
  ph: Pheromones,
  locations: ReadonlyArray<string>,
  opts: { minStrength?: number | StrengthLevel } = {},
): Promise<string[]> {
  const levels = [...new Set(locations.flatMap(selfAndAncestors))]
  const dangers = (
    await Promise.all(levels.map((l) => ph.detect({ types: ["danger"], location: l, exact: true, minStrength: opts.minStrength })))
  ).flat()
  return locations.filter((l) => !isDangerous(l, dangers))
}

/** A pattern name as a trail id: runs of other characters become `-`, at most 64 characters. */
export function patternId(pattern: string): string {
  const id = pattern.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64)
  if (!isToken(id)) throw new PheromoneError("invalid_request", `pattern ${JSON.stringify(pattern)} has no letters or digits to name a trail`)
  return id
}

export interface SuccessInput {
  readonly location: string
  /** What worked (a procedure, tool chain, prompt...): names the trail. */
  readonly pattern: string
  /** Default `high`. */
  readonly strength?: number | StrengthLevel
  readonly ttlMs?: number
  readonly data?: Record<string, unknown>
}

/** Rule 3: mark a success with its pattern, reinforcing the same pattern's trail if present. */
export async function depositSuccess(ph: Pheromones, input: SuccessInput): Promise<Trail> {
  return await ph.deposit({
    type: "success",
    location: input.location,
    id: patternId(input.pattern),
    strength: input.strength ?? "high",
    ttlMs: input.ttlMs,
    data: { ...(input.data ?? {}), pattern: input.pattern },
    onExisting: "reinforce",
  })
}

/** Rule 3, reading side: the strongest success patterns under a location. */
export async function strongestPatterns(ph: Pheromones, opts: { location?: string; limit?: number } = {}): Promise<Array<{ pattern: string; trail: Trail }>> {
  const trails = await ph.detect({ types: ["success"], location: opts.location, limit: opts.limit })
  return trails.map((trail) => ({ pattern: String((trail.data as { pattern?: unknown } | null)?.pattern ?? trail.id), trail }))
}

/** Rule 4: live `load` trails at or above `threshold` (default 0.9) under a location, most loaded first. */
export async function findOverloaded(ph: Pheromones, opts: { location?: string; threshold?: number } = {}): Promise<Trail[]> {
  return await ph.detect({ types: ["load"], location: opts.location, minStrength: opts.threshold ?? 0.9 })
}
