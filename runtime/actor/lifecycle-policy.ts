/**
 * Pure lifecycle policy: which actors stay awake (tiers, warm pools, business-hours windows) and
 * which ids a node wakes on its own. No clocks of its own: `now` is passed in.
 */
import { Cron } from "croner"
import type { AgentDefinition, CronWindow } from "../agent/define-agent.ts"

const windows = new WeakMap<CronWindow, { open: Cron; close: Cron }>()

function compiled(w: CronWindow): { open: Cron; close: Cron } {
  let c = windows.get(w)
  if (!c) {
    const tz = { timezone: w.timezone ?? "UTC", paused: true }
    c = { open: new Cron(w.open, tz), close: new Cron(w.close, tz) }
    windows.set(w, c)
  }
  return c
}

/** True when the last opening of the window is more recent than its last closing. */
export function insideWindow(w: CronWindow, now: number): boolean {
  const c = compiled(w)
  const at = new Date(now)
  const lastOpen = c.open.previousRuns(1, at)[0]
  if (!lastOpen) return false
  const lastClose = c.close.previousRuns(1, at)[0]
  return !lastClose || lastOpen.getTime() > lastClose.getTime()
}

/** Next opening of the window after `now` (ms), or undefined. */
export function nextOpening(w: CronWindow, now: number): number | undefined {
  return compiled(w).open.nextRun(new Date(now))?.getTime()
}

/** The ids of a type's warm pool: its minimum (members above it come and go, runtime/elastic). */
export function warmPoolIds(def: AgentDefinition<any, any>): string[] {
  const p = def.warmPool
  if (p === undefined) return []
  const size = typeof p === "number" ? p : (p.min ?? p.size ?? 0)
  const prefix = (typeof p === "object" && p.prefix) || `${def.type}-`
  return Array.from({ length: Math.max(0, Math.floor(size)) }, (_, i) => `${prefix}${i}`)
}

/**
 * Ids (tenant `default`) that must be awake at `now`: the warm pool, `always_on` instances, and
 * `business_hours` instances inside their window. The node wakes them at start and re-wakes
 * them whenever one is not active on its owner (stopped by a supervisor, type revived or reset,
 * partition gained).
 */
export function idsToKeepAwake(def: AgentDefinition<any, any>, now: number): string[] {
  return idsToWakeAtStart(def, now)
}

/** Ids the node wakes when it starts. */
export function idsToWakeAtStart(def: AgentDefinition<any, any>, now: number): string[] {
  const ids = new Set(warmPoolIds(def))
  const tier = def.tier ?? "on_demand"
  if (tier === "always_on" || (tier === "business_hours" && def.businessHours && insideWindow(def.businessHours, now))) {
    for (const id of def.instances ?? []) ids.add(id)
  }
  return [...ids]
}

/** Whether an idle actor of this type may passivate now. */
export function mayPassivate(def: AgentDefinition<any, any>, poolIds: ReadonlySet<string>, id: string, now: number): boolean {
  const tier = def.tier ?? "on_demand"
  if (tier === "always_on") return false
  if (poolIds.has(id)) return false
  if (tier === "business_hours" && def.businessHours && insideWindow(def.businessHours, now)) return false
  return true
}
