/**
 * Counters that layers below the node bump and each node's `/metrics` reads: model calls
 * (tokens and cost, per node, provider and model, kept by the node id the models layer was
 * opened with, so two nodes in one process report their own) and sandbox runs (a port for the
 * sandbox layer: `countSandboxRun(outcome)`; per process, since a sandbox does not know its
 * node). Plain numbers in maps: bumping one is a map lookup.
 */

export interface ModelUsageRow {
  readonly nodeId: string
  readonly provider: string
  readonly model: string
  calls: number
  failures: number
  inputTokens: number
  outputTokens: number
  costUsd: number
}

const modelRows = new Map<string, ModelUsageRow>()

/** The counters of one node, provider and model (a caller may keep it and bump it with countModelCall). */
export function modelUsageRow(nodeId: string | undefined, provider: string, model: string): ModelUsageRow {
  nodeId ??= ""
  const key = `${nodeId}\u0000${provider}\u0000${model}`
  let r = modelRows.get(key)
  if (r === undefined) modelRows.set(key, (r = { nodeId, provider, model, calls: 0, failures: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 }))
  return r
}

/** A model call that answered (router.ts counts each answered call on its deployment's row). */
export function countModelCall(nodeId: string | undefined, provider: string, model: string, usage: { readonly inputTokens: number; readonly outputTokens: number }, costUsd: number): void {
  countModelCallOn(modelUsageRow(nodeId, provider, model), usage, costUsd)
}

/** `countModelCall` on a row kept by the caller (no key built per call). */
export function countModelCallOn(r: ModelUsageRow, usage: { readonly inputTokens: number; readonly outputTokens: number }, costUsd: number): void {
  r.calls++
  r.inputTokens += usage.inputTokens
  r.outputTokens += usage.outputTokens
  r.costUsd += costUsd
}

/** A model call attempt that failed (one per failed attempt). */
export function countModelFailure(nodeId: string | undefined, provider: string, model: string): void {
  modelUsageRow(nodeId, provider, model).failures++
}

/** The model usage counted for a node. */
export function modelUsageOf(nodeId: string): ModelUsageRow[] {
  const out: ModelUsageRow[] = []
  for (const r of modelRows.values()) if (r.nodeId === nodeId) out.push(r)
  return out
}

/** How a sandboxed run ended: `ok`, `error` (the code threw), `timeout`, `memory` (over its memory limit) or another word the sandbox uses. */
export type SandboxOutcome = "ok" | "error" | "timeout" | "memory" | (string & {})

const sandboxRuns = new Map<string, number>()

/** The sandbox layer's port: one run ended with `outcome`. */
export function countSandboxRun(outcome: SandboxOutcome): void {
  sandboxRuns.set(outcome, (sandboxRuns.get(outcome) ?? 0) + 1)
}

/** Sandbox runs of this process by outcome. */
export function sandboxRunsByOutcome(): ReadonlyMap<string, number> {
  return sandboxRuns
}
