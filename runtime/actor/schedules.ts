/**
 * Time-driven wakes. Scheduled messages (a type's `schedules`) fire at their cron time in their
 * time zone; every node hosting the type runs the timer, and the first node to create the
 * firing's claim key in KV (`ants_schedules`, create-if-absent) delivers it, so a firing is
 * delivered once across the swarm. Business-hours windows wake the type's `instances` when they
 * open. Deliveries are ordinary tells, routed to the owning node, so they wake sleeping actors.
 * A firing that falls while no node runs is not replayed (cron semantics).
 */
import { Cron } from "croner"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { agentSubject, DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { SCHEDULE_BUCKET, scheduleClaimKey } from "../../subjects/kv.ts"
import type { AgentDefinition, Schedule } from "../agent/define-agent.ts"
import { retrying } from "../../supervisors/backoff.ts"

const encoder = new TextEncoder()

export interface ScheduleRunner {
  stop(): void
}

/** The croner job options of a schedule: its own time zone (UTC when none). */
function cronOptions(sch: Pick<Schedule, "timezone">): { timezone: string } {
  return { timezone: sch.timezone ?? "UTC" }
}

/**
 * The next firing of a schedule strictly after `now` (epoch ms), in its time zone; undefined
 * when the expression never fires again. Pure: what the runner's timer will fire on.
 */
export function nextFiring(sch: Pick<Schedule, "cron" | "timezone">, now: number): number | undefined {
  const c = new Cron(sch.cron, { ...cronOptions(sch), paused: true })
  try {
    return c.nextRun(new Date(now))?.getTime()
  } finally {
    c.stop()
  }
}

export async function startSchedules(
  nc: NatsConnection,
  defs: ReadonlyArray<AgentDefinition<any, any>>,
  options: { nodeId: string; replicas?: number; log: (level: "info" | "warn" | "error", m: string) => void; wake: (type: string, id: string) => void },
): Promise<ScheduleRunner> {
  const jobs: Cron[] = []
  const needsKv = defs.some((d) => (d.schedules?.length ?? 0) > 0)
  const config = { history: 1, ttl: 24 * 3600_000, replicas: options.replicas ?? 1 }
  const kv = needsKv ? await retrying(() => new Kvm(nc).create(SCHEDULE_BUCKET, config), 20_000) : undefined
  for (const def of defs) {
    for (const sch of def.schedules ?? []) {
      const job = new Cron(sch.cron, { ...cronOptions(sch), catch: true }, async (self: Cron) => {
        const fireAt = self.currentRun()?.getTime() ?? Date.now()
        try {
          await kv!.create(scheduleClaimKey(def.type, sch.name, fireAt), encoder.encode(options.nodeId))
        } catch {
          return // another node delivered this firing
        }
        const subject = agentSubject({ tenant: sch.tenant ?? DEFAULT_TENANT, type: def.type, id: sch.id, tag: sch.tag })
        nc.publish(subject, encoder.encode(JSON.stringify(sch.message ?? {})))
        options.log("info", `schedule ${def.type}/${sch.name} fired: ${subject}`)
      })
      jobs.push(job)
    }
    if (def.tier === "business_hours" && def.businessHours && (def.instances?.length ?? 0) > 0) {
      const w = def.businessHours
      jobs.push(
        new Cron(w.open, { timezone: w.timezone ?? "UTC", catch: true }, () => {
          for (const id of def.instances ?? []) options.wake(def.type, id)
        }),
      )
    }
  }
  return {
    stop() {
      for (const j of jobs) j.stop()
    },
  }
}
