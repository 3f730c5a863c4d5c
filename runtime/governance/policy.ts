/**
 * Policy before action: a tenant's declarative rules, evaluated before an action runs. A rule
 * matches actions by kind (`tool`, `model`, `spend`), tool name (exact, or a prefix ending in
 * `*`), impact, agent type, model (deployment) and provider, and amount (`minUsd`: a model
 * call's estimated cost on that deployment, or with `per: "turn"` the turn's spend with it); the first rule that matches decides, with one of
 * four effects, which are the seed's delegation modes:
 *
 *   allow    full automation: the action runs
 *   deny     the action does not run; the agent is told why
 *   approve  human approval: the action waits for a human's decision (who may amend its
 *            arguments: human in the loop), or its deadline, which applies the safe default
 *   notify   human on the loop: the action runs at once, and a decided request is filed for
 *            review (a human may override it afterwards)
 *
 * A model call is checked before it is made, on each deployment the router could send it to:
 * the deployments a `model` or `spend` rule denies are not used, and when that is all of them
 * the call is refused. Model calls do not wait for a human: for them `approve` refuses like
 * `deny` (the agent is told a human must allow it), and `notify` lets the call go on, recorded.
 *
 * When no rule matches: a high-impact tool needs approval, anything else is allowed. So a model
 * can never run a high-impact tool past its tenant's policy: only a rule someone wrote lets it.
 *
 * Rules live in the KV bucket `ants_policy` under the tenant, as `{"rules":[...],"at","by"}`.
 */
import type { KV, KvEntry } from "@nats-io/kv"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { policyKey } from "../../subjects/governance.ts"
import { GovernanceError } from "./errors.ts"

export const Severity = Schema.Literal("critical", "high", "normal", "low")
export type Severity = typeof Severity.Type
/** Queue order: critical first. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { critical: 0, high: 1, normal: 2, low: 3 }

export const PolicyRule = Schema.Struct({
  id: Schema.optional(Schema.String),
  effect: Schema.Literal("allow", "deny", "approve", "notify"),
  action: Schema.optional(Schema.Literal("tool", "model", "spend")),
  tool: Schema.optional(Schema.String),
  impact: Schema.optional(Schema.Literal("low", "high")),
  agentType: Schema.optional(Schema.String),
  /** For `model` and `spend`: the deployment (exact, or a prefix ending in `*`). */
  model: Schema.optional(Schema.String),
  /** For `model` and `spend`: the deployment's provider (exact, or a prefix ending in `*`). */
  provider: Schema.optional(Schema.String),
  /** Matches spending of at least this many US dollars. */
  minUsd: Schema.optional(Schema.Number),
  /** For `spend`: what `minUsd` is compared with, one call's estimated cost (`request`, the default) or the turn's spend with it (`turn`). */
  per: Schema.optional(Schema.Literal("request", "turn")),
  /** For `approve`: the request's severity (default high for a high-impact tool, else normal). */
  severity: Schema.optional(Severity),
  /** For `approve`: how long a human has (default 5 minutes). */
  timeoutMs: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  /** For `approve`: what the deadline applies (default reject). */
  safeDefault: Schema.optional(Schema.Literal("approve", "reject")),
  reason: Schema.optional(Schema.String),
})
export type PolicyRule = typeof PolicyRule.Type
export type PolicyEffect = PolicyRule["effect"]

export const TenantPolicy = Schema.Struct({ rules: Schema.Array(PolicyRule), at: Schema.optional(Schema.String), by: Schema.optional(Schema.String) })
export type TenantPolicy = typeof TenantPolicy.Type

export const APPROVAL_TIMEOUT_MS = 5 * 60_000

/** An action as policy sees it. */
export interface PolicyAction {
  readonly action: "tool" | "model" | "spend"
  readonly agentType: string
  readonly tool?: string
  readonly impact?: "low" | "high"
  readonly model?: string
  readonly provider?: string
  readonly usd?: number
  /** Within a turn: the turn's spend so far with this call's estimate. */
  readonly turnUsd?: number
}

export interface PolicyDecision {
  readonly effect: PolicyEffect
  /** The rule that decided (its id, or its index as `#<n>`), or `default`. */
  readonly rule: string
  readonly reason: string
  readonly severity: Severity
  readonly timeoutMs: number
  readonly safeDefault: "approve" | "reject"
}

const decodeRules = Schema.decodeUnknownEither(Schema.Array(PolicyRule))

/** Checks rules; a GovernanceError `invalid` names what is wrong. */
export function parseRules(input: unknown): PolicyRule[] {
  const r = decodeRules(input)
  if (Either.isLeft(r)) throw new GovernanceError("invalid", `policy rules do not fit: ${ParseResult.TreeFormatter.formatErrorSync(r.left)}`)
  return [...r.right]
}

function nameMatches(pattern: string | undefined, name: string | undefined): boolean {
  if (pattern === undefined) return true
  if (name === undefined) return false
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name
}

function matches(rule: PolicyRule, a: PolicyAction): boolean {
  if ((rule.action ?? "tool") !== a.action) return false
  if (!nameMatches(rule.tool, a.tool) || !nameMatches(rule.agentType, a.agentType) || !nameMatches(rule.model, a.model) || !nameMatches(rule.provider, a.provider)) return false
  if (rule.impact !== undefined && rule.impact !== (a.impact ?? "low")) return false
  if (rule.minUsd !== undefined && ((rule.per === "turn" ? (a.turnUsd ?? a.usd) : a.usd) ?? 0) < rule.minUsd) return false
  return true
}

/** The first matching rule's decision, else the default (a high-impact tool needs approval). Pure. */
export function evaluatePolicy(rules: ReadonlyArray<PolicyRule>, a: PolicyAction): PolicyDecision {
  const i = rules.findIndex((r) => matches(r, a))
  const high = a.impact === "high"
  if (i < 0) {
    return high
      ? { effect: "approve", rule: "default", reason: `${a.tool ?? a.action} is high-impact and no rule allows it`, severity: "high", timeoutMs: APPROVAL_TIMEOUT_MS, safeDefault: "reject" }
      : { effect: "allow", rule: "default", reason: "no rule matches", severity: "normal", timeoutMs: APPROVAL_TIMEOUT_MS, safeDefault: "reject" }
  }
  const r = rules[i]!
  return {
    effect: r.effect,
    rule: r.id ?? `#${i}`,
    reason: r.reason ?? `rule ${r.id ?? `#${i}`} (${r.effect})`,
    severity: r.severity ?? (high ? "high" : "normal"),
    timeoutMs: r.timeoutMs ?? APPROVAL_TIMEOUT_MS,
    safeDefault: r.safeDefault ?? "reject",
  }
}

/** A tenant's rules from the policy bucket (none: the defaults). */
export async function readPolicy(kv: KV, tenant: string): Promise<TenantPolicy> {
  return policyOfEntry(await kv.get(policyKey(tenant)), tenant)
}

/** The policy a bucket entry holds (none, or deleted: the defaults); a stored policy that does not parse throws. */
export function policyOfEntry(e: KvEntry | null, tenant: string): TenantPolicy {
  if (!e || e.operation !== "PUT") return { rules: [] }
  try {
    return { ...e.json<TenantPolicy>(), rules: parseRules(e.json<TenantPolicy>().rules) }
  } catch (err) {
    // a stored policy that does not parse is not "no policy": refuse rather than allow everything
    throw new GovernanceError("invalid", `the stored policy of tenant "${tenant}" is not valid (${(err as Error).message}); set it again with ants policy set`)
  }
}

/** Replaces a tenant's rules (checked first). */
export async function writePolicy(kv: KV, tenant: string, rules: unknown, by: string): Promise<TenantPolicy> {
  const policy: TenantPolicy = { rules: parseRules(rules), at: new Date().toISOString(), by }
  await kv.put(policyKey(tenant), JSON.stringify(policy))
  return policy
}
