/**
 * The registry's records, as stored in KV (subjects/tools.ts names the keys) and as its API and
 * subjects return them. Plain JSON: any NATS client reads them.
 */

import type { SandboxLevel, SandboxRun } from "../sandbox/mod.ts"

/** Sandbox levels (runtime/sandbox): restricted (JSON and an allow-listed fetch, 30 s), moderate, permissive. */
export const TOOL_LEVELS = ["restricted", "moderate", "permissive"] as const satisfies ReadonlyArray<SandboxLevel>
export type ToolLevel = SandboxLevel

/** testing until promoted by its record; active; deprecated (still runs, names its replacement). */
export type ToolStatus = "testing" | "active" | "deprecated"

/** A JSON Schema object. */
export type JsonSchema = Record<string, unknown>

/**
 * Version n of a tool: what runs, as the sandbox runs it (its module `source`; for OpenAPI
 * tools, `fetchAllow` is the document's servers and `env` the credentials). Written once.
 */
export interface ToolVersion extends Pick<SandboxRun, "source" | "fetchAllow" | "env"> {
  readonly name: string
  readonly version: number
  readonly description: string
  readonly level: ToolLevel
  readonly schema: JsonSchema
  readonly resultSchema?: JsonSchema
  readonly registeredAt: string
}

/** A tool's current record: which version runs (its fields but the code), and its deprecation. */
export interface ToolHead extends Omit<ToolVersion, "source" | "fetchAllow" | "env"> {
  readonly deprecated?: { readonly replacement: string; readonly at: string; readonly reason?: string }
}

/** The current version's record, shared by every node (revision-checked updates). */
export interface ToolStats {
  readonly version: number
  readonly runs: number
  readonly successes: number
  readonly failures: number
  /** The last runs' outcomes, newest last ("1" success, "0" failure), at most STATS_WINDOW. */
  readonly window: string
  /** Successes among `window`: the success rate as a moving average over the last runs. */
  readonly successRate: number
  readonly meanDurationMs: number
  readonly lastUsedAt?: string
  /** When the version reached its promotion (testing → active). */
  readonly promotedAt?: string
}

/** What `list` and `get` return: the head, its statistics and the status they give. */
export interface ToolInfo extends ToolHead {
  readonly status: ToolStatus
  readonly stats: ToolStats
}

/** What a run returns. */
export interface ToolRunResult {
  readonly value: unknown
  readonly version: number
  readonly durationMs: number
  /** Set when the tool is deprecated: use the replacement. */
  readonly deprecated?: { readonly replacement: string }
}
