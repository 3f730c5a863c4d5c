/**
 * The names ANTS gives its own span attributes and spans, declared once (the OpenTelemetry
 * semantic conventions name the rest: `gen_ai.*`, `messaging.*`). They live under the `ants`
 * namespace, as the conventions ask of vendor attributes.
 */
const NS = "ants"

export const ATTR = {
  tenant: `${NS}.tenant`,
  agentType: `${NS}.agent.type`,
  agentId: `${NS}.agent.id`,
  messageTag: `${NS}.message.tag`,
  nodeId: `${NS}.node.id`,
  errorCode: `${NS}.error.code`,
  forwarded: `${NS}.forwarded`,
  taskId: `${NS}.task.id`,
  taskCapability: `${NS}.task.capability`,
  taskAttempt: `${NS}.task.attempt`,
  stateBytes: `${NS}.state.bytes`,
  modelProvider: `${NS}.model.provider`,
  modelDeployment: `${NS}.model.deployment`,
  modelStreaming: `${NS}.model.streaming`,
  modelCostUsd: `${NS}.model.cost_usd`,
} as const

/** A span's name: the operation under the namespace, then what it acts on (`ants.dispatch echo.Say`). */
export function spanName(op: string, what: string): string {
  return `${NS}.${op} ${what}`
}
