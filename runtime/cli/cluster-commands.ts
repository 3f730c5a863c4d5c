/**
 * `ants nodes` and `ants actors --type T`: the swarm as its nodes see it, gathered from the
 * broadcast inspection requests (NODES_MEMBERS_SUBJECT, NODES_ACTORS_SUBJECT in subjects/cluster.ts) with a
 * deadline. Exit code 0 when at least one node answered, 1 when none did.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { PARTITIONS } from "../../subjects/grammar.ts"
import { listActors, listNodes } from "../cluster/inspect-client.ts"
import type { Parsed } from "./command-spec.ts"
import { ACTORS, NODES } from "./commands.ts"
import { runCommand, type CommandIo } from "./run-command.ts"
import type { NodeMembersInfo } from "../cluster/inspection.ts"

export interface ClusterCommandIO extends CommandIo {
  readonly nc: NatsConnection
}

/** `ants nodes` from code: the same parsing, help and exit codes as the shell. */
export async function nodesCommand(argv: string[], io: ClusterCommandIO): Promise<number> {
  return await runCommand(NODES, argv, io, (parsed, json) => runNodes(parsed, { ...io, json }))
}

/** `ants actors` from code: the same parsing, help and exit codes as the shell. */
export async function actorsCommand(argv: string[], io: ClusterCommandIO): Promise<number> {
  return await runCommand(ACTORS, argv, io, (parsed, json) => runActors(parsed, { ...io, json }))
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n")
}

/** Compact partition ranges: 0-5,9,12-14 */
function ranges(ps: ReadonlyArray<number>): string {
  const out: string[] = []
  for (let i = 0; i < ps.length; ) {
    let j = i
    while (j + 1 < ps.length && ps[j + 1] === ps[j] + 1) j++
    out.push(i === j ? `${ps[i]}` : `${ps[i]}-${ps[j]}`)
    i = j + 1
  }
  return out.join(",") || "-"
}

export async function runNodes(parsed: Parsed<(typeof NODES)["options"]>, io: ClusterCommandIO): Promise<number> {
  const json = io.json
  const nodes = await listNodes(io.nc, { timeoutMs: parsed.values.timeout })
  if (json) {
    io.out(JSON.stringify({ nodes }))
    return nodes.length > 0 ? 0 : 1
  }
  if (nodes.length === 0) {
    io.out("no runtime node answered (start one with `npx ants node --agents <module>`)")
    return 1
  }
  const rows = [["NODE", "STATE", "HOST", "PARTS", "ACTIVE", "IDLE", "WARMING", "SLEEPING", "LEASES", "MESSAGES", "PARTITIONS"]]
  const served = new Set<number>()
  for (const n of nodes) {
    let active = 0
    let idle = 0
    let warming = 0
    let sleeping = 0
    for (const t of Object.values(n.types)) {
      active += t.active
      idle += t.idle
      warming += t.warming
      sleeping += t.sleeping
    }
    for (const p of n.partitions) served.add(p)
    rows.push([n.node, n.state + (n.frozen ? " (view frozen)" : ""), `${n.host}:${n.pid}`, String(n.partitions.length), String(active), String(idle), String(warming), String(sleeping), String(n.leases), messagesCell(n.messages), ranges(n.partitions)])
  }
  io.out(table(rows))
  const warnings = new Set(nodes.flatMap((n) => n.guarantees.warnings))
  io.out(`\n${nodes.length} node(s), ${served.size}/${PARTITIONS} partitions served, nats-server ${nodes[0].guarantees.version}, runtime replicas R${nodes[0].guarantees.replicas ?? "?"}`)
  for (const s of nodes[0].guarantees.statements) io.out(`  ${s}`)
  for (const w of warnings) io.out(`  warning: ${w}`)
  for (const line of versionLines(nodes)) io.out(line)
  const views = new Set(nodes.map((n) => n.members.join(",")))
  if (views.size > 1) io.out("  note: nodes do not agree on the member set yet (a node is joining, leaving or failing)")
  return 0
}

/**
 * Which version of each type every node runs: `counter: v2 on na; v1 on nb (2 versions side by
 * side: a rolling upgrade is under way; v2 serves every counter)`. One line per type. Only the
 * nodes running the highest version own the type's actors (membership.ts, candidates).
 */
export function versionLines(nodes: ReadonlyArray<Pick<NodeMembersInfo, "node" | "types">>): string[] {
  const byType = new Map<string, Map<number, string[]>>()
  for (const n of nodes) {
    for (const [type, t] of Object.entries(n.types)) {
      const versions = byType.get(type) ?? byType.set(type, new Map()).get(type)!
      const v = t.version ?? 1
      versions.set(v, [...(versions.get(v) ?? []), n.node])
    }
  }
  const lines: string[] = []
  for (const [type, versions] of [...byType].sort(([a], [b]) => a.localeCompare(b))) {
    const parts = [...versions].sort(([a], [b]) => b - a).map(([v, on]) => `v${v} on ${on.join(", ")}`)
    const top = Math.max(...versions.keys())
    lines.push(`  ${type}: ${parts.join("; ")}${versions.size > 1 ? ` (${versions.size} versions side by side: a rolling upgrade is under way; v${top} serves every ${type})` : ""}`)
  }
  return lines.length > 0 ? ["versions:", ...lines] : []
}

/** `received: handled ok, forwarded, rejected, in flight` (the node's accounting identity at a glance). */
function messagesCell(m: NodeMembersInfo["messages"]): string {
  if (!m) return "-"
  const rejected = Object.values(m.rejected).reduce((a, b) => a + b, 0)
  return `${m.received}: ${m.handled} ok, ${m.forwarded} fwd, ${rejected} rej, ${m.inFlight} in flight`
}

export async function runActors(parsed: Parsed<(typeof ACTORS)["options"]>, io: ClusterCommandIO): Promise<number> {
  const { values } = parsed
  const json = io.json
  const r = await listActors(io.nc, {
    type: values.type,
    ...(values.tenant ? { tenant: values.tenant } : {}),
    ...(values.limit !== undefined ? { limit: values.limit } : {}),
    timeoutMs: values.timeout,
  })
  if (json) {
    io.out(JSON.stringify(r))
    return r.nodes > 0 ? 0 : 1
  }
  if (r.nodes === 0) {
    io.out("no runtime node answered (start one with `npx ants node --agents <module>`)")
    return 1
  }
  if (r.actors.length === 0) {
    io.out(`no actor of type ${values.type} is in memory or asleep on any of ${r.nodes} node(s)`)
    return 0
  }
  io.out(table([["TENANT", "TYPE", "ID", "STATE", "NODE"], ...r.actors.map((a) => [a.tenant, a.type, a.id, a.state, a.node])]))
  io.out(`\n${r.actors.length} actor(s) on ${r.nodes} node(s)${r.truncated ? " (truncated: use --limit)" : ""}`)
  return 0
}
