/**
 * Model configuration in the ecosystem's terms: the SDKs' own environment variables
 * (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`) and a models
 * file (JSON) naming deployments with their provider, capabilities, context size, prices per
 * million tokens and rate limits, plus routing rules per agent type, a fallback chain and
 * budgets. With neither, the offline provider answers and the announcement says so.
 *
 * A models file:
 *
 *   {
 *     "providers": { "local": { "kind": "openai", "baseURL": "http://127.0.0.1:11434/v1" } },
 *     "models": [
 *       { "name": "gpt-4o-mini", "provider": "openai", "capabilities": ["chat", "tools", "json"],
 *         "contextTokens": 128000, "price": { "input": 0.15, "output": 0.6 },
 *         "rateLimit": { "rpm": 500, "maxConcurrent": 32 } },
 *       { "name": "claude-haiku", "provider": "anthropic", "model": "claude-haiku-4-5", ... }
 *     ],
 *     "fallback": ["gpt-4o-mini", "claude-haiku"],
 *     "rules": { "assistant": { "prefer": ["claude-haiku"], "maxCostPerRequestUsd": 0.01 } },
 *     "budgets": { "tenant": { "acme": 25 }, "type": { "assistant": 5 }, "agent": { "assistant/a1": 1 } }
 *   }
 *
 * Providers `openai`, `anthropic` and `offline` exist without being declared; a declared
 * provider of kind `openai` or `anthropic` reads its key from `apiKeyEnv` (default the SDK's
 * variable) and its base URL from `baseURL`, else `baseURLEnv` (default the SDK's variable).
 */
import { readFileSync } from "node:fs"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { anthropicProvider } from "./anthropic-provider.ts"
import { ModelConfigError } from "./errors.ts"
import { offlineProvider } from "./offline-provider.ts"
import { openaiProvider } from "./openai-provider.ts"
import type { Provider } from "./types.ts"

const Price = Schema.Struct({
  /** USD per million input tokens. */
  input: Schema.Number,
  /** USD per million output tokens. */
  output: Schema.Number,
})

export const Deployment = Schema.Struct({
  /** The name agents and rules use. */
  name: Schema.String,
  provider: Schema.String,
  /** The provider's model id; defaults to `name`. */
  model: Schema.optional(Schema.String),
  capabilities: Schema.optionalWith(Schema.Array(Schema.String), { default: () => ["chat", "tools"] }),
  contextTokens: Schema.optionalWith(Schema.Number, { default: () => 8192 }),
  price: Schema.optionalWith(Price, { default: () => ({ input: 0, output: 0 }) }),
  rateLimit: Schema.optional(Schema.Struct({ rpm: Schema.optional(Schema.Number), maxConcurrent: Schema.optional(Schema.Number) })),
  timeoutMs: Schema.optional(Schema.Number),
})
export type Deployment = typeof Deployment.Type

export const RoutingRule = Schema.Struct({
  /** Capabilities every call of this type needs. */
  capabilities: Schema.optional(Schema.Array(Schema.String)),
  /** Deployments tried first, in this order (before the best score). */
  prefer: Schema.optional(Schema.Array(Schema.String)),
  /** Only these deployments. */
  only: Schema.optional(Schema.Array(Schema.String)),
  exclude: Schema.optional(Schema.Array(Schema.String)),
  fallback: Schema.optional(Schema.Array(Schema.String)),
  maxCostPerRequestUsd: Schema.optional(Schema.Number),
})
export type RoutingRule = typeof RoutingRule.Type

const ProviderConfig = Schema.Struct({
  kind: Schema.Literal("openai", "anthropic", "offline"),
  baseURL: Schema.optional(Schema.String),
  baseURLEnv: Schema.optional(Schema.String),
  apiKeyEnv: Schema.optional(Schema.String),
  timeoutMs: Schema.optional(Schema.Number),
})

export const Budgets = Schema.Struct({
  /** USD per tenant. */
  tenant: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Number })),
  /** USD per agent type. */
  type: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Number })),
  /** USD per actor, keyed `<type>/<id>`. */
  agent: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Number })),
  /** USD per request, for every call without a tighter rule. */
  request: Schema.optional(Schema.Number),
})
export type Budgets = typeof Budgets.Type

export const ModelsFile = Schema.Struct({
  providers: Schema.optional(Schema.Record({ key: Schema.String, value: ProviderConfig })),
  models: Schema.Array(Deployment),
  fallback: Schema.optional(Schema.Array(Schema.String)),
  rules: Schema.optional(Schema.Record({ key: Schema.String, value: RoutingRule })),
  budgets: Schema.optional(Budgets),
  breaker: Schema.optional(Schema.Struct({ failureThreshold: Schema.optional(Schema.Number), resetTimeoutMs: Schema.optional(Schema.Number) })),
})
export type ModelsFile = typeof ModelsFile.Encoded

/** Everything the router needs, resolved. */
export interface ModelsConfig {
  readonly providers: ReadonlyMap<string, Provider>
  readonly deployments: ReadonlyArray<Deployment>
  readonly fallback: ReadonlyArray<string>
  readonly rules: Readonly<Record<string, RoutingRule>>
  readonly budgets: Budgets
  readonly breaker: { readonly failureThreshold?: number; readonly resetTimeoutMs?: number }
  /** True when only the offline provider answers. */
  readonly offline: boolean
  /** One line for the operator, said at start-up: which providers answer, or that none does. */
  readonly announcement: string
  /** Deployments dropped for want of a key, with why. */
  readonly warnings: ReadonlyArray<string>
}

/** The offline deployment every configuration can fall back on when it declares nothing else. */
export const OFFLINE_DEPLOYMENT: Deployment = {
  name: "offline",
  provider: "offline",
  capabilities: ["chat", "tools", "json", "stream"],
  contextTokens: 1_000_000,
  price: { input: 0, output: 0 },
}

type Env = Readonly<Record<string, string | undefined>>

function sdkProvider(name: string, kind: "openai" | "anthropic", env: Env, conf?: typeof ProviderConfig.Type): Provider | string {
  const prefix = kind === "openai" ? "OPENAI" : "ANTHROPIC"
  const apiKey = env[conf?.apiKeyEnv ?? `${prefix}_API_KEY`]
  const baseURL = conf?.baseURL ?? env[conf?.baseURLEnv ?? `${prefix}_BASE_URL`]
  // An official endpoint without a key cannot answer; a base URL (a local server) may need none.
  if (!apiKey && !baseURL) return `provider "${name}" has neither ${conf?.apiKeyEnv ?? `${prefix}_API_KEY`} nor a base URL`
  const o = { name, apiKey: apiKey || undefined, baseURL: baseURL || undefined, timeoutMs: conf?.timeoutMs }
  return kind === "openai" ? openaiProvider(o) : anthropicProvider(o)
}

function decodeFile(raw: unknown, source: string): typeof ModelsFile.Type {
  const r = Schema.decodeUnknownEither(ModelsFile)(raw)
  if (Either.isLeft(r)) throw new ModelConfigError(`${source} is not a models file:\n${ParseResult.TreeFormatter.formatErrorSync(r.left)}`)
  return r.right
}

export interface ResolveOptions {
  /** A models file path, or its parsed content. */
  readonly file?: string | ModelsFile
  /** Environment to read the SDK variables from (default process.env). */
  readonly env?: Env
  /** Extra providers by name (tests, custom clients). */
  readonly providers?: ReadonlyArray<Provider>
}

/** Resolves a models file and the environment into providers and deployments. */
export function resolveModels(options: ResolveOptions = {}): ModelsConfig {
  const env = options.env ?? process.env
  let file: typeof ModelsFile.Type | undefined
  if (typeof options.file === "string") {
    let text: string
    try {
      text = readFileSync(options.file, "utf8")
    } catch (e) {
      throw new ModelConfigError(`cannot read models file ${options.file}: ${(e as Error).message}`)
    }
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch (e) {
      throw new ModelConfigError(`models file ${options.file} is not JSON: ${(e as Error).message}`)
    }
    file = decodeFile(raw, `models file ${options.file}`)
  } else if (options.file) file = decodeFile(options.file, "the models configuration")

  const warnings: string[] = []
  const providers = new Map<string, Provider>()
  for (const p of options.providers ?? []) providers.set(p.name, p)
  const provider = (name: string): Provider | undefined => {
    const known = providers.get(name)
    if (known) return known
    const conf = file?.providers?.[name]
    const kind = conf?.kind ?? (name === "openai" || name === "anthropic" || name === "offline" ? name : undefined)
    if (!kind) {
      warnings.push(`provider "${name}" is not declared (declare it under "providers" with a kind)`)
      return undefined
    }
    const p = kind === "offline" ? offlineProvider({ name }) : sdkProvider(name, kind, env, conf)
    if (typeof p === "string") {
      warnings.push(p)
      return undefined
    }
    providers.set(name, p)
    return p
  }

  let deployments: Deployment[] = []
  if (file) {
    const names = new Set<string>()
    for (const d of file.models) {
      if (names.has(d.name)) throw new ModelConfigError(`models file names "${d.name}" twice`)
      names.add(d.name)
      if (provider(d.provider)) deployments.push(d)
      else warnings.push(`model "${d.name}" left out: provider "${d.provider}" cannot answer`)
    }
  } else {
    if (provider("openai")) deployments.push({ name: env.ANTS_OPENAI_MODEL || "gpt-4o-mini", provider: "openai", capabilities: ["chat", "tools", "json", "stream"], contextTokens: 128_000, price: { input: 0, output: 0 } })
    if (provider("anthropic")) deployments.push({ name: env.ANTS_ANTHROPIC_MODEL || "claude-haiku-4-5", provider: "anthropic", capabilities: ["chat", "tools", "json", "stream"], contextTokens: 200_000, price: { input: 0, output: 0 } })
    // The SDK variables say "use this provider"; without a models file they cannot say which
    // models cost what, so spend is counted in tokens only until prices are declared.
    warnings.splice(0) // a missing key is the normal case without a models file
  }
  const unconfigured = deployments.length === 0
  if (unconfigured) deployments = [OFFLINE_DEPLOYMENT]
  if (unconfigured) provider("offline")
  // offline when every answer comes from an offline provider, unconfigured or declared so
  const offline = deployments.every((d) => providers.get(d.provider)?.offline === true)
  const used = [...new Set(deployments.map((d) => d.provider))]
  const announcement = unconfigured
    ? "models: OFFLINE: no model provider configured (set OPENAI_API_KEY / OPENAI_BASE_URL or ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL, or give a models file); a deterministic offline provider answers and every answer is labelled offline"
    : `models: ${deployments.length} deployment(s) through ${used.join(", ")}: ${deployments.map((d) => d.name).join(", ")}`
  return {
    providers,
    deployments,
    fallback: file?.fallback ?? [],
    rules: file?.rules ?? {},
    budgets: file?.budgets ?? {},
    breaker: file?.breaker ?? {},
    offline,
    announcement,
    warnings,
  }
}
