/**
 * Recruitment by load signals: the seed's fourth swarm rule, "help overloaded peers when idle".
 * A recruiter reads the `load` trails under `elastic.capability` (one prefix read per interval,
 * whatever the number of agents it serves) and, for each agent it serves:
 *
 * - when the agent is idle and a capability it can do (its `canDo` patterns: tokens, `*` one
 *   token, a trailing `>` the rest) is at or above `threshold` (0.9, the seed's critical mark),
 *   it joins the most loaded one (`join`: the agent takes that work too, e.g. by bidding on it
 *   in the marketplace) — one capability per agent per interval, at most `maxJoined` at once;
 * - when a capability it joined falls below `releaseBelow` (0.5) or its trails are gone, it
 *   leaves it (`leave`), so recruits go back to their own work once the peak is over.
 *
 * The decision is a pure function (`decideRecruitment`); the loads come from nodes' load
 * reports (load-reporter.ts with `capabilityLoads`, or any deposit of `load` trails at
 * `capabilityLoadLocation(capability)`).
 */
import type { Pheromones } from "../stigmergy/pheromones.ts"
import { capabilityMatch } from "../tasks/marketplace.ts"
import { LOAD_ROOT, capabilityOfLoadLocation } from "../../subjects/elastic.ts"

export const RECRUIT_DEFAULTS = {
  threshold: 0.9,
  releaseBelow: 0.5,
  intervalMs: 500,
  maxJoined: 1,
} as const

export interface Recruit {
  readonly id: string
  /** Capabilities (or patterns) this agent can take on when recruited. */
  readonly canDo: ReadonlyArray<string>
  isIdle(): boolean
  join(capability: string, load: number): void
  leave(capability: string): void
}

export interface RecruitPolicy {
  readonly threshold: number
  readonly releaseBelow: number
  readonly maxJoined: number
}

/** Pure: what one agent does now, given the strongest live load per capability. */
export function decideRecruitment(
  loads: ReadonlyMap<string, number>,
  agent: { canDo: ReadonlyArray<string>; joined: ReadonlySet<string>; idle: boolean },
  policy: RecruitPolicy = RECRUIT_DEFAULTS,
): { join?: { capability: string; load: number }; leave: string[] } {
  const leave = [...agent.joined].filter((c) => (loads.get(c) ?? 0) < policy.releaseBelow)
  if (!agent.idle || agent.joined.size - leave.length >= policy.maxJoined) return { leave }
  let best: { capability: string; load: number } | undefined
  for (const [capability, load] of loads) {
    if (load < policy.threshold || agent.joined.has(capability)) continue
    if (!agent.canDo.some((p) => capabilityMatch(p, capability) > 0)) continue
    if (!best || load > best.load) best = { capability, load }
  }
  return best ? { join: best, leave } : { leave }
}

export interface RecruiterOptions {
  /** The tenant's pheromones (where the load trails are). */
  readonly pheromones: Pheromones
  readonly recruits: ReadonlyArray<Recruit>
  readonly threshold?: number
  readonly releaseBelow?: number
  readonly maxJoined?: number
  readonly intervalMs?: number
  readonly log?: (level: "info" | "warn" | "error", message: string) => void
}

export interface Recruiter {
  /** Capabilities each agent joined, by agent id. */
  joined(): Record<string, string[]>
  stats(): { readonly checks: number; readonly recruited: number; readonly released: number }
  /** Reads the loads and applies the decisions now (the interval does it on its own). */
  check(): Promise<void>
  /** Stops; agents keep what they joined unless `release` (then each leaves it). */
  stop(opts?: { release?: boolean }): void
}

/** The strongest live load of each capability under `elastic.capability`. */
export async function capabilityLoadsFrom(ph: Pheromones): Promise<Map<string, number>> {
  const trails = await ph.detect({ types: ["load"], location: `${LOAD_ROOT}.capability` })
  const out = new Map<string, number>()
  for (const t of trails) {
    const cap = capabilityOfLoadLocation(t.location)
    if (cap !== undefined) out.set(cap, Math.max(out.get(cap) ?? 0, t.current))
  }
  return out
}

export function startRecruiter(o: RecruiterOptions): Recruiter {
  const policy: RecruitPolicy = {
    threshold: o.threshold ?? RECRUIT_DEFAULTS.threshold,
    releaseBelow: o.releaseBelow ?? RECRUIT_DEFAULTS.releaseBelow,
    maxJoined: o.maxJoined ?? RECRUIT_DEFAULTS.maxJoined,
  }
  const joined = new Map<string, Set<string>>(o.recruits.map((r) => [r.id, new Set()]))
  const counts = { checks: 0, recruited: 0, released: 0 }
  let running: Promise<void> | undefined

  const apply = (loads: ReadonlyMap<string, number>) => {
    for (const r of o.recruits) {
      const mine = joined.get(r.id)!
      const d = decideRecruitment(loads, { canDo: r.canDo, joined: mine, idle: r.isIdle() }, policy)
      for (const c of d.leave) {
        mine.delete(c)
        counts.released++
        r.leave(c)
      }
      if (d.join) {
        mine.add(d.join.capability)
        counts.recruited++
        r.join(d.join.capability, d.join.load)
      }
    }
  }

  const check = async () => {
    if (running) return await running
    running = (async () => {
      counts.checks++
      apply(await capabilityLoadsFrom(o.pheromones))
    })()
      .catch((e) => o.log?.("warn", `recruitment check failed: ${(e as Error).message}`))
      .finally(() => (running = undefined))
    return await running
  }
  const timer = setInterval(() => void check(), Math.max(20, o.intervalMs ?? RECRUIT_DEFAULTS.intervalMs))
  timer.unref()

  return {
    joined: () => Object.fromEntries([...joined].map(([id, s]) => [id, [...s]])),
    stats: () => ({ ...counts }),
    check,
    stop(opts) {
      clearInterval(timer)
      if (!opts?.release) return
      for (const r of o.recruits) {
        for (const c of joined.get(r.id) ?? []) r.leave(c)
        joined.get(r.id)?.clear()
      }
    },
  }
}
