/**
 * `ants schedules` (declared in schedule-spec.ts): every schedule the running nodes declare,
 * gathered from the broadcast each node answers (SCHEDULES_LIST_SUBJECT in subjects/wake.ts).
 * A schedule declared on several nodes (every node hosting its type) is one line, with the nodes
 * that run it and the earliest next firing they report. Exit 0 when at least one node answered.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { SCHEDULES_LIST_SUBJECT, type ScheduleInfo } from "../../subjects/wake.ts"
import { gather, memberCount } from "../cluster/inspect-client.ts"
import type { Parsed } from "./command-spec.ts"
import { SCHEDULES } from "./commands.ts"
import { runCommand, type CommandIo } from "./run-command.ts"

export interface SchedulesCommandIO extends CommandIo {
  readonly nc: NatsConnection
}

/** One schedule across the swarm: what a node reports, and every node that runs it. */
export interface SwarmSchedule extends ScheduleInfo {
  readonly nodes: ReadonlyArray<string>
}

/** Every schedule the nodes run, one entry per type and name, sorted; and how many nodes answered. */
export async function listSchedules(nc: NatsConnection, opts: { type?: string; timeoutMs?: number } = {}): Promise<{ schedules: SwarmSchedule[]; nodes: number }> {
  const expected = await memberCount(nc)
  const replies = await gather<{ node: string; schedules: ScheduleInfo[] }>(nc, SCHEDULES_LIST_SUBJECT, undefined, { timeoutMs: opts.timeoutMs, expected: expected || undefined })
  const byName = new Map<string, SwarmSchedule>()
  for (const r of replies) {
    for (const s of r.schedules) {
      if (opts.type && s.type !== opts.type) continue
      const key = `${s.type}\u0000${s.name}`
      const seen = byName.get(key)
      const next = seen?.next !== undefined && (s.next === undefined || seen.next < s.next) ? seen.next : s.next
      byName.set(key, { ...(seen ?? s), ...(next !== undefined ? { next } : {}), nodes: [...(seen?.nodes ?? []), r.node].sort() })
    }
  }
  const schedules = [...byName.values()].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name))
  return { schedules, nodes: replies.length }
}

/** `ants schedules` from code: the same parsing, help and exit codes as the shell. */
export async function schedulesCommand(argv: string[], io: SchedulesCommandIO): Promise<number> {
  return await runCommand(SCHEDULES, argv, io, (parsed, json) => runSchedules(parsed, { ...io, json }))
}

export async function runSchedules(parsed: Parsed<(typeof SCHEDULES)["options"]>, io: SchedulesCommandIO): Promise<number> {
  const { values } = parsed
  const { schedules, nodes } = await listSchedules(io.nc, { ...(values.type ? { type: values.type } : {}), timeoutMs: values.timeout })
  if (io.json) {
    io.out(JSON.stringify({ nodes, schedules }))
    return nodes > 0 ? 0 : 1
  }
  if (nodes === 0) {
    io.out("no runtime node answered (start one with `npx ants node --agents <module>`)")
    return 1
  }
  if (schedules.length === 0) {
    io.out(`no schedules${values.type ? ` of type ${values.type}` : ""} on the ${nodes} node(s) answering`)
    return 0
  }
  const rows = [["TYPE", "NAME", "CRON", "ACTOR", "NEXT", "MISSED", "AUTO-SLEEP", "LAST RUN", "NODES"]]
  for (const s of schedules) {
    const last = s.last ? `${s.last.fireAt}${s.last.outcome ? ` ${s.last.outcome}` : ""}${s.last.node ? ` on ${s.last.node}` : ""}` : "never"
    rows.push([
      s.type,
      s.name,
      `${s.cron} (${s.timezone})`,
      `${s.tenant === "default" ? "" : `${s.tenant}/`}${s.id} ${s.tag}`,
      s.next ?? "never again",
      s.missed,
      s.sleepAfterMinutes !== undefined ? `${s.sleepAfterMinutes} min` : "-",
      last,
      s.nodes.join(","),
    ])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const r of rows) io.out(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd())
  return 0
}
