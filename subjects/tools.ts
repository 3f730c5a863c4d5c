/**
 * The tool registry's part of the wire contract: where tools are stored and the subjects
 * through which any NATS client registers, lists, runs and deprecates them. Pure code: built
 * and parsed here only.
 *
 *   KV ants_tools   <tenant>.<name>.head      the tool's current record: its version, level,
 *                                             description, schemas, deprecation
 *                   <tenant>.<name>.v<n>      version n: the module's source and its schemas
 *                                             (written once, never changed)
 *                   <tenant>.<name>.stats     the current version's statistics: runs, the
 *                                             success rate over the last runs, mean duration,
 *                                             last use, when it was promoted to active
 *   ants.<tenant>.tools.<Op>                  a request to the registry, answered by any node
 *                                             (queue group ants-tools) with the reply envelope;
 *                                             Op is Register, List, Get, Run or Deprecate, the
 *                                             body JSON (`{name, ...}`)
 *
 * The tenant is the subject's: the server lets a tenant's principal publish only under
 * `ants.<tenant>.>`, so a tenant reaches only its own tools. Tenants do not write the bucket
 * (only nodes do): the statistics and the status they earn cannot be forged.
 */
import { ROOT, SubjectError, token } from "./grammar.ts"

export const TOOLS_BUCKET = "ants_tools"

/** The registry's operations, the last token of its subjects. */
export const TOOL_OPS = ["Register", "List", "Get", "Run", "Deprecate"] as const
export type ToolOp = (typeof TOOL_OPS)[number]

/** The queue group of the nodes serving the registry's subjects (each request answered once). */
export const TOOLS_QUEUE = "ants-tools"

/** Every tenant's registry requests (what nodes subscribe to). */
export const TOOLS_WILDCARD = `${ROOT}.*.tools.*`

/** A tool's name: what model APIs accept as a function name, and one key token. */
export const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/

export function toolName(name: string): string {
  if (typeof name !== "string" || !TOOL_NAME.test(name)) throw new SubjectError(`a tool name is 1-64 letters, digits, '_' or '-', got ${JSON.stringify(name)}`, "token", String(name))
  return name
}

/** One tenant's registry requests (what a node pinned to tenants subscribes to). */
export function toolsTenantWildcard(tenant: string): string {
  return `${ROOT}.${token("tenant", tenant)}.tools.*`
}

/** The subject of one registry operation of a tenant. */
export function toolsSubject(tenant: string, op: ToolOp): string {
  return `${ROOT}.${token("tenant", tenant)}.tools.${op}`
}

/** Parses a registry subject: its tenant and operation, or undefined for anything else. */
export function parseToolsSubject(subject: string): { tenant: string; op: ToolOp } | undefined {
  const p = subject.split(".")
  if (p.length !== 4 || p[0] !== ROOT || p[2] !== "tools") return undefined
  const op = p[3] as ToolOp
  if (!TOOL_OPS.includes(op) || !/^[A-Za-z0-9_-]+$/.test(p[1]!)) return undefined
  return { tenant: p[1]!, op }
}

export function toolHeadKey(tenant: string, name: string): string {
  return `${token("tenant", tenant)}.${toolName(name)}.head`
}

export function toolVersionKey(tenant: string, name: string, version: number): string {
  if (!Number.isInteger(version) || version < 1) throw new SubjectError(`a tool version is a whole number from 1, got ${version}`, "token", String(version))
  return `${token("tenant", tenant)}.${toolName(name)}.v${version}`
}

export function toolStatsKey(tenant: string, name: string): string {
  return `${token("tenant", tenant)}.${toolName(name)}.stats`
}

/** Filter over the head records of every tool of a tenant. */
export function toolHeadsFilter(tenant: string): string {
  return `${token("tenant", tenant)}.*.head`
}

/** Parses any key of the bucket into its tenant, tool and kind. */
export function parseToolKey(key: string): { tenant: string; name: string; kind: "head" | "stats" | "version"; version?: number } | undefined {
  const p = key.split(".")
  if (p.length !== 3) return undefined
  const [tenant, name, last] = p as [string, string, string]
  if (last === "head" || last === "stats") return { tenant, name, kind: last }
  const v = /^v(\d+)$/.exec(last)
  return v ? { tenant, name, kind: "version", version: Number(v[1]) } : undefined
}
