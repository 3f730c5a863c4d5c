/**
 * The models layer's part of the wire contract: where agent turns are journaled, where routers
 * share what they learn about model deployments, where model spend is kept, and the subject a
 * turn's streamed tokens are published on. Pure code: built and parsed here only.
 *
 *   KV ants_turns         <tenant>.<type>.<id>.<turn>.meta    a turn's header {"input","status","steps",…}
 *                         <tenant>.<type>.<id>.<turn>.s<seq>   one recorded step (model answer or tool result)
 *                         <tenant>.<type>.<id>.<turn>.c<seq>   the summarising step's output before model step seq
 *   KV ants_model_stats   <deployment>.<nodeId>               one node's moving averages for one deployment
 *                                                             {"latencyMs","success","samples","at"}
 *   KV ants_model_cost    <tenant>.<type>.<id>                tokens and money spent by one actor
 *                                                             {"inputTokens","outputTokens","usd","calls"}
 *   KV ants_model_budget  agent.<tenant>.<type>.<id>           one budgeted scope's counter: spent and held
 *                         type.<tenant>.<type>                 {"usd","holds":{<call>:{"usd","until"}}}
 *                         tenant.<tenant>
 *   ants.<tenant>.stream.<streamId>                           deltas of a streamed answer, JSON lines
 *                                                             {"seq","delta"} then {"seq","done":true,…}
 *   header Ants-Stream: <streamId>                            on an ask: stream the answer there
 *                                                             (`ants ask --stream` sets it)
 *
 * Deployment names ("gpt-4.1-mini", "claude-haiku-4.5") may hold characters a key token may
 * not: `deploymentToken` escapes them reversibly (`_` + two hex digits per byte).
 */
import { ROOT, token, type ActorAddress } from "./grammar.ts"

/** The header of an ask whose answer should be streamed, naming the stream id. */
export const STREAM_HEADER = "Ants-Stream"

/**
 * The header of an ask made for a tool call of an agent's turn (`agentTool`): the call's
 * idempotency key, the same when a resumed turn makes the call again. The asked actor reads it
 * as `ctx.idempotencyKey`.
 */
export const IDEMPOTENCY_HEADER = "Ants-Idempotency-Key"

export const TURNS_BUCKET = "ants_turns"
export const MODEL_STATS_BUCKET = "ants_model_stats"
export const MODEL_COST_BUCKET = "ants_model_cost"
export const MODEL_BUDGET_BUCKET = "ants_model_budget"

/** Key of the budget counter of one scope of an actor: the actor, its type (in its tenant), its tenant. */
export function modelBudgetKey(scope: "agent" | "type" | "tenant", a: ActorAddress): string {
  const tenant = token("tenant", a.tenant)
  if (scope === "tenant") return `tenant.${tenant}`
  if (scope === "type") return `type.${tenant}.${token("type", a.type)}`
  return `agent.${actorPrefix(a)}`
}

const SAFE = /^[A-Za-z0-9-]$/

/** Escapes any name into one key token: letters, digits and `-` stay, everything else is `_hh`. */
export function deploymentToken(name: string): string {
  if (name.length === 0) throw new Error("a deployment name may not be empty")
  let out = ""
  for (const ch of name) {
    if (SAFE.test(ch)) out += ch
    else for (const b of new TextEncoder().encode(ch)) out += `_${b.toString(16).padStart(2, "0")}`
  }
  return token("token", out)
}

/** The inverse of `deploymentToken`. */
export function parseDeploymentToken(tok: string): string {
  const bytes: number[] = []
  for (let i = 0; i < tok.length; i++) {
    if (tok[i] === "_") {
      bytes.push(parseInt(tok.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(tok.charCodeAt(i))
  }
  return new TextDecoder().decode(new Uint8Array(bytes))
}

function actorPrefix(a: ActorAddress): string {
  return `${token("tenant", a.tenant)}.${token("type", a.type)}.${token("id", a.id)}`
}

/** Key of a turn's header entry. */
export function turnMetaKey(a: ActorAddress, turn: string): string {
  return `${actorPrefix(a)}.${token("token", turn)}.meta`
}

/** Key of step `seq` (0-based) of a turn. */
export function turnStepKey(a: ActorAddress, turn: string, seq: number): string {
  if (!Number.isInteger(seq) || seq < 0) throw new Error(`a step number must be a non-negative integer, got ${seq}`)
  return `${actorPrefix(a)}.${token("token", turn)}.s${seq}`
}

/** Key of the recorded output of the summarising step before model step `seq` of a turn. */
export function turnSummaryKey(a: ActorAddress, turn: string, seq: number): string {
  if (!Number.isInteger(seq) || seq < 0) throw new Error(`a step number must be a non-negative integer, got ${seq}`)
  return `${actorPrefix(a)}.${token("token", turn)}.c${seq}`
}

/** Filter over every entry (header and steps) of one turn. */
export function turnFilter(a: ActorAddress, turn: string): string {
  return `${actorPrefix(a)}.${token("token", turn)}.>`
}

/** Filter over every turn header of one actor, of a type, or of a tenant. */
export function turnMetaFilter(tenant: string, type?: string, id?: string): string {
  return `${token("tenant", tenant)}.${type === undefined ? "*" : token("type", type)}.${id === undefined ? "*" : token("id", id)}.*.meta`
}

/** Parses a turn header key back into its actor and turn id. */
export function parseTurnMetaKey(key: string): { address: ActorAddress; turn: string } | undefined {
  const p = key.split(".")
  if (p.length !== 5 || p[4] !== "meta") return undefined
  return { address: { tenant: p[0], type: p[1], id: p[2] }, turn: p[3] }
}

/** One node's statistics for one deployment. */
export function modelStatsKey(deployment: string, nodeId: string): string {
  return `${deploymentToken(deployment)}.${token("node", nodeId)}`
}

export function parseModelStatsKey(key: string): { deployment: string; node: string } | undefined {
  const p = key.split(".")
  if (p.length !== 2) return undefined
  return { deployment: parseDeploymentToken(p[0]), node: p[1] }
}

/** An actor's model spend. */
export function modelCostKey(a: ActorAddress): string {
  return actorPrefix(a)
}

/** Filter over the spend of a tenant, or of one type in it. */
export function modelCostFilter(tenant?: string, type?: string): string {
  return `${tenant === undefined ? "*" : token("tenant", tenant)}.${type === undefined ? "*" : token("type", type)}.*`
}

/** The subject a streamed answer's deltas are published on. */
export function modelStreamSubject(tenant: string, streamId: string): string {
  return `${ROOT}.${token("tenant", tenant)}.stream.${token("token", streamId)}`
}
