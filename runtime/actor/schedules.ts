/**
 * Time-driven wakes. Scheduled messages (a type's `schedules`) fire at their cron time in their
 * time zone. Every node hosting the type checks its schedules on each lifecycle tick against
 * the node's clock (`tick(now)`, about once a second; a test injects the clock), and the first
 * node to create the firing's claim key in KV (`ants_schedules`, create-if-absent) delivers it,
 * so a firing is delivered once across the swarm. Deliveries are ordinary tells routed to the
 * owning node, so they wake sleeping actors; a schedule with `sleepAfterMinutes` sends a `_Wake`
 * first that sets the actor's auto-sleep.
 *
 * Missed firings: each schedule's last handled firing is kept in `ants_schedule_marks` (no
 * expiry). A node that starts finds the firings that fell between that mark and now, while no
 * node ran the type, and applies the schedule's policy once across the swarm (the node that
 * claims the last missed firing does it): `run_once` delivers the message once and records the
 * others as caught up; `skip` (default) records each as skipped. Every such firing is published
 * on `ants._sys.schedule.<type>.<name>` and its claim says what became of it. At most
 * `MAX_MISSED` firings are looked at per schedule (a per-second cron after a long outage).
 */
import { Cron } from "croner"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { agentSubject, DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { SCHEDULE_BUCKET, scheduleClaimKey } from "../../subjects/kv.ts"
import { SCHEDULE_MARKS_BUCKET, scheduleEventSubject, scheduleMarkKey, type ScheduleInfo } from "../../subjects/wake.ts"
import type { AgentDefinition, Schedule } from "../agent/define-agent.ts"
import { retrying } from "../../supervisors/backoff.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A mark written by a schedule's first start (`<ms> start`): where missed firings begin, not a firing handled. */
const START_MARK = " start"

/** Missed firings looked at per schedule when a node starts. */
export const MAX_MISSED = 1000

/** Where a node reads the time for calendars (schedules, business hours). */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export interface ScheduleRunner {
  /** Fires what fell due up to `now` (the node's lifecycle tick calls it). */
  tick(now: number): Promise<void>
  /** This node's schedules as `ants schedules` shows them: next firing on the node's clock, policy, auto-sleep, last firing. */
  list(): Promise<ScheduleInfo[]>
  stop(): void
}

/** What a firing became, in its claim and its event. */
export type FiringOutcome = "delivered" | "caught_up" | "skipped"

/** The croner job options of a schedule: its own time zone (UTC when none). */
function cronOptions(sch: Pick<Schedule, "timezone">): { timezone: string } {
  return { timezone: sch.timezone ?? "UTC" }
}

/**
 * The next firing of a schedule strictly after `now` (epoch ms), in its time zone; undefined
 * when the expression never fires again. Pure: what the runner will fire on.
 */
export function nextFiring(sch: Pick<Schedule, "cron" | "timezone">, now: number): number | undefined {
  return firingsBetween(sch, now, Infinity, 1)[0]
}

/** The firings in (after, upTo], at most `max`, in order. Pure. */
export function firingsBetween(sch: Pick<Schedule, "cron" | "timezone">, after: number, upTo: number, max: number): number[] {
  const c = new Cron(sch.cron, { ...cronOptions(sch), paused: true })
  const out: number[] = []
  try {
    let at = after
    while (out.length < max) {
      const next = c.nextRun(new Date(at))?.getTime()
      if (next === undefined || next > upTo) break
      out.push(next)
      at = next
    }
  } finally {
    c.stop()
  }
  return out
}

export async function startSchedules(
  nc: NatsConnection,
  defs: ReadonlyArray<AgentDefinition<any, any>>,
  options: { nodeId: string; replicas?: number; log: (level: "info" | "warn" | "error", m: string) => void; clock?: Clock },
): Promise<ScheduleRunner> {
  const clock = options.clock ?? systemClock
  const entries = defs.flatMap((def) => (def.schedules ?? []).map((sch) => ({ type: def.type, sch })))
  if (entries.length === 0) return { tick: async () => undefined, list: async () => [], stop: () => undefined }
  const replicas = options.replicas ?? 1
  const claims: KV = await retrying(() => new Kvm(nc).create(SCHEDULE_BUCKET, { history: 1, ttl: 24 * 3600_000, replicas }), 20_000)
  const marks: KV = await retrying(() => new Kvm(nc).create(SCHEDULE_MARKS_BUCKET, { history: 1, replicas }), 20_000)

  const claim = async (type: string, sch: Schedule, fireAt: number, outcome: FiringOutcome): Promise<boolean> => {
    try {
      await claims.create(scheduleClaimKey(type, sch.name, fireAt), encoder.encode(JSON.stringify({ node: options.nodeId, outcome, at: new Date(clock.now()).toISOString() })))
      return true
    } catch {
      return false // another node handled this firing
    }
  }
  const mark = (type: string, sch: Schedule, fireAt: number) => marks.put(scheduleMarkKey(type, sch.name), encoder.encode(String(fireAt))).catch(() => undefined)
  const announce = (type: string, sch: Schedule, fireAt: number, outcome: FiringOutcome) => {
    try {
      nc.publish(scheduleEventSubject(type, sch.name), encoder.encode(JSON.stringify({ type, name: sch.name, fireAt: new Date(fireAt).toISOString(), outcome, node: options.nodeId, at: new Date(clock.now()).toISOString() })))
    } catch {
      // closing
    }
  }
  const deliver = (type: string, sch: Schedule, reason: string) => {
    const address = { tenant: sch.tenant ?? DEFAULT_TENANT, type, id: sch.id }
    if (sch.sleepAfterMinutes !== undefined) {
      nc.publish(agentSubject({ ...address, tag: "_Wake" }), encoder.encode(JSON.stringify({ reason, sleepAfterMinutes: sch.sleepAfterMinutes })))
    }
    const subject = agentSubject({ ...address, tag: sch.tag })
    nc.publish(subject, encoder.encode(JSON.stringify(sch.message ?? {})))
    options.log("info", `schedule ${type}/${sch.name} ${reason}: ${subject}`)
  }

  /** Firings that fell while no node ran the type: the policy, once across the swarm. */
  const catchUp = async (type: string, sch: Schedule, now: number) => {
    const e = await marks.get(scheduleMarkKey(type, sch.name))
    if (!e || e.value.length === 0) {
      // first start ever: nothing before now was this schedule's to fire (marked as a start, not a firing)
      await marks.create(scheduleMarkKey(type, sch.name), encoder.encode(`${now}${START_MARK}`)).catch(() => undefined)
      return
    }
    const missed = firingsBetween(sch, parseInt(decoder.decode(e.value), 10), now, MAX_MISSED)
    if (missed.length === 0) return
    const policy = sch.missed ?? "skip"
    const last = missed[missed.length - 1]!
    // the node that claims the last missed firing applies the policy to all of them
    if (!(await claim(type, sch, last, policy === "run_once" ? "caught_up" : "skipped"))) return
    const handled = [last]
    for (const f of missed.slice(0, -1)) if (await claim(type, sch, f, policy === "run_once" ? "caught_up" : "skipped")) handled.unshift(f)
    handled.sort((a, b) => a - b)
    const outcome: FiringOutcome = policy === "run_once" ? "caught_up" : "skipped"
    for (const f of handled) announce(type, sch, f, outcome)
    const span = `${handled.length} firing(s) from ${new Date(handled[0]!).toISOString()} to ${new Date(last).toISOString()}${missed.length >= MAX_MISSED ? ` (the first ${MAX_MISSED} looked at)` : ""}`
    if (policy === "run_once") deliver(type, sch, `caught up once for ${span} missed while no node ran ${type}`)
    else options.log("warn", `schedule ${type}/${sch.name}: skipped ${span} that fell while no node ran ${type} (policy skip; published on ${scheduleEventSubject(type, sch.name)})`)
    await mark(type, sch, last)
  }

  // where each schedule's timer stands: firings after this are still to come
  const checked = new Map<(typeof entries)[number], number>()
  const start = clock.now()
  for (const entry of entries) {
    try {
      await catchUp(entry.type, entry.sch, start)
    } catch (e) {
      options.log("warn", `schedule ${entry.type}/${entry.sch.name}: missed firings not checked: ${(e as Error).message}`)
    }
    checked.set(entry, start)
  }

  let stopped = false
  let running: Promise<void> | undefined
  const fireDue = async (now: number) => {
    for (const entry of entries) {
      const from = checked.get(entry)!
      if (now <= from) continue
      checked.set(entry, now)
      for (const fireAt of firingsBetween(entry.sch, from, now, 100)) {
        if (stopped) return
        if (!(await claim(entry.type, entry.sch, fireAt, "delivered"))) continue
        deliver(entry.type, entry.sch, `fired (${new Date(fireAt).toISOString()})`)
        await mark(entry.type, entry.sch, fireAt)
      }
    }
  }
  /** The last firing handled (the mark, when it is a firing of the cron and not a first start's), with its claim's outcome. */
  const lastFiring = async (type: string, sch: Schedule): Promise<ScheduleInfo["last"]> => {
    const m = await marks.get(scheduleMarkKey(type, sch.name)).catch(() => null)
    const text = m ? decoder.decode(m.value) : ""
    const at = parseInt(text, 10)
    if (!Number.isFinite(at) || text.endsWith(START_MARK) || firingsBetween(sch, at - 1, at, 1)[0] !== at) return undefined
    const c = await claims.get(scheduleClaimKey(type, sch.name, at)).catch(() => null)
    let claimed: { outcome?: string; node?: string } = {}
    try {
      if (c && c.value.length > 0) claimed = JSON.parse(decoder.decode(c.value))
    } catch {
      // not ours to read: the firing time alone
    }
    return { fireAt: new Date(at).toISOString(), ...(claimed.outcome ? { outcome: claimed.outcome } : {}), ...(claimed.node ? { node: claimed.node } : {}) }
  }

  return {
    async list() {
      const now = clock.now()
      return await Promise.all(
        entries.map(async ({ type, sch }) => {
          const next = nextFiring(sch, now)
          const last = await lastFiring(type, sch)
          return {
            type,
            name: sch.name,
            cron: sch.cron,
            timezone: sch.timezone ?? "UTC",
            tenant: sch.tenant ?? DEFAULT_TENANT,
            id: sch.id,
            tag: sch.tag,
            missed: sch.missed ?? "skip",
            ...(sch.sleepAfterMinutes !== undefined ? { sleepAfterMinutes: sch.sleepAfterMinutes } : {}),
            ...(next !== undefined ? { next: new Date(next).toISOString() } : {}),
            ...(last ? { last } : {}),
          }
        }),
      )
    },
    async tick(now) {
      // one pass at a time: a slow KV write never runs two passes over the same firings
      if (stopped || running) return
      running = fireDue(now).catch((e: unknown) => options.log("warn", `schedules: ${(e as Error).message}`)).finally(() => (running = undefined))
      await running
    },
    stop() {
      stopped = true
    },
  }
}
