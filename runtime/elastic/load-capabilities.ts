/**
 * The load of task capabilities, for load reports (load-reporter.ts) and recruitment
 * (recruit.ts): the tasks waiting in the task stream per capability (one stream-info request
 * per tenant, the server's own per-subject counts), against the number of agents that serve the
 * capability. A capability with `capacity` agents and that many tasks waiting (or more) is at
 * load 1; with none waiting, 0.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { jetstreamManager } from "@nats-io/jetstream"
import { TASKS_STREAM, parseTaskSubject, taskTenantFilter } from "../../subjects/tasks.ts"
import { capabilityLoadLocation } from "../../subjects/elastic.ts"
import type { LoadSample } from "./load-reporter.ts"

/** Tasks waiting per capability of a tenant (every priority lane and session summed). */
export async function capabilityBacklogs(nc: NatsConnection, tenant: string): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc)
  const info = await jsm.streams.info(TASKS_STREAM, { subjects_filter: taskTenantFilter(tenant) })
  const out = new Map<string, number>()
  for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
    try {
      const cap = parseTaskSubject(subject).capability
      out.set(cap, (out.get(cap) ?? 0) + n)
    } catch {
      // not a task subject of the grammar: not a capability's backlog
    }
  }
  return out
}

/** Load samples of capabilities: backlog over capacity, capped at 1 (a capability nobody serves and that has work is at 1). */
export function capabilityLoads(tenant: string, backlogs: ReadonlyMap<string, number>, capacity: (capability: string) => number): LoadSample[] {
  const out: LoadSample[] = []
  for (const [capability, waiting] of backlogs) {
    const c = capacity(capability)
    const load = c > 0 ? Math.min(1, waiting / c) : waiting > 0 ? 1 : 0
    out.push({ tenant, location: capabilityLoadLocation(capability), load, data: { capability, waiting, capacity: c } })
  }
  return out
}
