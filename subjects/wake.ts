/**
 * The wire contract of wakes and schedules (runtime/elastic, runtime/actor/schedules.ts).
 *
 *   ants.<tenant>.agent.<type>.<id>._Wake   wake one actor; body (optional) `{"reason","keepAliveMinutes","sleepAfterMinutes"}`:
 *                                           the actor stays awake at least `keepAliveMinutes`, then
 *                                           the normal lifecycle applies; `sleepAfterMinutes` puts
 *                                           it to sleep that long after the wake (once idle)
 *   ants.<tenant>.wake.<type>               wake by type (a request; any node hosting the type
 *                                           answers): body `{"reason","keepAliveMinutes","new"}`,
 *                                           wakes a sleeping instance (or a stored one), or a new
 *                                           one when there is none or `new` is true; the reply's
 *                                           value is `{"type","id","created","status"}`
 *   ants._sys.schedules.list                every node answers (a broadcast, gathered) with the
 *                                           schedules of the types it hosts: `{"node","schedules":[ScheduleInfo]}`
 *                                           (`ants schedules`)
 *   ants._sys.schedule.<type>.<name>        what became of a firing that fell while no node ran
 *                                           the type: `{"type","name","fireAt","outcome","node","at"}`,
 *                                           outcome `caught_up` (policy run_once) or `skipped`
 *
 * KV `ants_schedule_marks` (history 1, no expiry), key `<type>.<name>`: the time (epoch ms) of
 * the last firing handled, so a node that starts after an outage knows which firings it missed
 * (`<ms> start` when the schedule first started and has handled none since).
 * Firing claims stay in `ants_schedules` (`scheduleClaimKey`), their value saying what was done.
 */
import { ROOT, SubjectError, token } from "./grammar.ts"

export const SCHEDULE_MARKS_BUCKET = "ants_schedule_marks"

/** What a `_Wake` body may say. */
export interface WakeRequest {
  /** Why the actor is woken (logged, and in the lifecycle event's reason). */
  readonly reason?: string
  /** Stay awake at least this long (minutes; fractions allowed), then the normal lifecycle applies. */
  readonly keepAliveMinutes?: number
  /** Go to sleep this long after the wake, as soon as idle (a schedule's auto-sleep). */
  readonly sleepAfterMinutes?: number
}

/** What a wake by type may say. */
export interface WakeTypeRequest extends WakeRequest {
  /** Wake a new instance even when one is asleep. */
  readonly new?: boolean
}

/** What a wake by type answers (the value of an ok envelope). */
export interface WakeTypeReply {
  readonly type: string
  readonly id: string
  /** True when the instance had no state yet (a new one). */
  readonly created: boolean
  readonly status: string
}

/** How a schedule handles firings that fell while no node ran its type. */
export type MissedFiringPolicy = "run_once" | "skip"

/** A wake body checked: the request, or why it is refused (an `invalid_message`). */
export function decodeWakeRequest(json: unknown): WakeTypeRequest | { readonly problem: string } {
  if (json === undefined || json === null) return {}
  if (typeof json !== "object" || Array.isArray(json)) return { problem: "a wake body is a JSON object {reason?, keepAliveMinutes?, sleepAfterMinutes?}" }
  const o = json as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!["reason", "keepAliveMinutes", "sleepAfterMinutes", "new"].includes(k)) return { problem: `unknown field "${k}" in a wake (known: reason, keepAliveMinutes, sleepAfterMinutes, new)` }
  }
  if (o.reason !== undefined && (typeof o.reason !== "string" || o.reason.length > 500)) return { problem: "reason must be a string of at most 500 characters" }
  for (const k of ["keepAliveMinutes", "sleepAfterMinutes"] as const) {
    const v = o[k]
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 525_600)) return { problem: `${k} must be a number of minutes from 0 to 525600 (a year), got ${JSON.stringify(v)}` }
  }
  if (o.new !== undefined && typeof o.new !== "boolean") return { problem: "new must be true or false" }
  return o as WakeTypeRequest
}

/** `ants.<tenant>.wake.<type>` */
export function wakeTypeSubject(tenant: string, type: string): string {
  return `${ROOT}.${token("tenant", tenant)}.wake.${token("type", type)}`
}

/** What a node hosting `type` subscribes to: wakes by type in every tenant. */
export function wakeTypePatternAllTenants(type: string): string {
  return `${ROOT}.*.wake.${token("type", type)}`
}

export function parseWakeTypeSubject(subject: string): { tenant: string; type: string } {
  const t = subject.split(".")
  if (t.length !== 4 || t[0] !== ROOT || t[2] !== "wake") throw new SubjectError(`not a wake-by-type subject: ${subject} (ants.<tenant>.wake.<type>)`, "subject", subject)
  return { tenant: token("tenant", t[1]!), type: token("type", t[3]!) }
}

/** `ants._sys.schedule.<type>.<name>` */
export function scheduleEventSubject(type: string, name: string): string {
  return `${ROOT}._sys.schedule.${token("type", type)}.${token("token", name)}`
}

/** The broadcast every node answers with its schedules (`ants schedules`). */
export const SCHEDULES_LIST_SUBJECT = `${ROOT}._sys.schedules.list`

/** One schedule as a node reports it (`ants schedules`). */
export interface ScheduleInfo {
  readonly type: string
  readonly name: string
  readonly cron: string
  /** Its time zone (UTC when it declares none). */
  readonly timezone: string
  readonly tenant: string
  readonly id: string
  readonly tag: string
  /** The policy for firings that fell while no node ran the type. */
  readonly missed: MissedFiringPolicy
  /** Auto-sleep after a firing woke the actor, in minutes; absent when none. */
  readonly sleepAfterMinutes?: number
  /** The next firing after the node's clock (ISO); absent when the expression never fires again. */
  readonly next?: string
  /** The last firing handled anywhere in the swarm (from `ants_schedule_marks`), and what became of it. */
  readonly last?: { readonly fireAt: string; readonly outcome?: string; readonly node?: string }
}

/** Every schedule event. */
export const SCHEDULE_EVENTS = `${ROOT}._sys.schedule.>`

/** The keys of every stored state of one type in one tenant (a key filter on `ants_state`). */
export function typeStateKeys(tenant: string, type: string): string {
  return `${token("tenant", tenant)}.${token("type", type)}.*`
}

/** Key of a schedule's last handled firing in `ants_schedule_marks`. */
export function scheduleMarkKey(type: string, name: string): string {
  return `${token("type", type)}.${token("token", name)}`
}
