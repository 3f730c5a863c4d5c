/**
 * The live tool registry: register a tool (an ES module whose default export is an async
 * function from JSON arguments to a JSON result, with an argument schema, a description and a
 * sandbox level), list, describe, run and deprecate it, per tenant. Promises:
 *
 * - a registration is checked before it is stored (name, level, a schema that compiles, a
 *   module of bounded size with a default export) and stored as a new version;
 * - a run validates the arguments before any code runs (`invalid_message` with the issues,
 *   nothing counted), runs the current version in the sandbox at the tool's level for the
 *   tenant (never the node's process), validates the result when the tool declares a result
 *   schema, and adds the outcome to the shared statistics (which promote the tool from testing
 *   to active: stats.ts);
 * - a tenant sees and runs only its own tools (the tenant is the caller's scope: the subject
 *   the server let it publish on, or the actor's tenant).
 */
import { ToolError, isToolError } from "./errors.ts"
import { checkSchema, formatIssues, schemaIssues, toJsonSchema, type ToolSchema } from "./schema.ts"
import { statusOf, emptyStats } from "./stats.ts"
import type { ToolStore } from "./store.ts"
import { TOOL_LEVELS, type ToolHead, type ToolInfo, type ToolLevel, type ToolRunResult } from "./types.ts"
import { TOOL_NAME } from "../../subjects/tools.ts"
import { tagOf } from "../../subjects/errors.ts"
import type { ErrorCode } from "../../subjects/envelope.ts"

/** The sandbox as the registry uses it (runtime/sandbox's `Sandbox.run`). */
export interface ToolSandbox {
  run(request: {
    readonly tenant: string
    readonly level: ToolLevel
    readonly source: string
    readonly args: unknown
    readonly fetchAllow?: ReadonlyArray<string>
    readonly env?: Readonly<Record<string, string>>
  }): Promise<unknown>
}

/** The largest module a tool may be. */
export const MAX_TOOL_SOURCE_BYTES = 256 * 1024

export interface RegisterInput {
  readonly name: string
  /** The module's text: `export default async function (args) { ... }`. */
  readonly source: string
  /** The arguments' schema (JSON Schema, or an Effect Schema turned into one). */
  readonly schema: ToolSchema
  /** When given, every result is checked against it (a result that does not fit is a failed run). */
  readonly resultSchema?: ToolSchema
  readonly description?: string
  /** Default `restricted`. */
  readonly level?: ToolLevel
  /** Origins `fetch` may reach from the sandbox (e.g. "https://api.example.com"). */
  readonly fetchAllow?: ReadonlyArray<string>
  /** The module's environment (credentials of an integration). */
  readonly env?: Readonly<Record<string, string>>
}

export interface ToolRegistry {
  register(tenant: string, input: RegisterInput): Promise<ToolHead>
  list(tenant: string): Promise<ToolInfo[]>
  get(tenant: string, name: string): Promise<ToolInfo>
  run(tenant: string, name: string, args: unknown): Promise<ToolRunResult>
  deprecate(tenant: string, name: string, options: { readonly replacement: string; readonly reason?: string }): Promise<ToolHead>
}

function checkRegistration(input: RegisterInput): void {
  if (typeof input.name !== "string" || !TOOL_NAME.test(input.name)) throw new ToolError("invalid_message", `a tool name is 1-64 letters, digits, '_' or '-' (what model APIs accept), got ${JSON.stringify(input.name)}`)
  if (input.level !== undefined && !TOOL_LEVELS.includes(input.level)) throw new ToolError("invalid_message", `level must be one of ${TOOL_LEVELS.join(", ")}, got ${JSON.stringify(input.level)}`)
  if (typeof input.source !== "string" || input.source.trim() === "") throw new ToolError("invalid_message", "a tool needs its module's source: `export default async function (args) { ... }`")
  const bytes = Buffer.byteLength(input.source)
  if (bytes > MAX_TOOL_SOURCE_BYTES) throw new ToolError("too_large", `the module is ${bytes} bytes, over the ${MAX_TOOL_SOURCE_BYTES} a tool may be`)
  if (!/\bexport\s+default\b/.test(input.source)) throw new ToolError("invalid_message", "the module has no default export: write `export default async function (args) { ... }`")
  if (input.description !== undefined && typeof input.description !== "string") throw new ToolError("invalid_message", "description must be a string")
  for (const o of input.fetchAllow ?? []) {
    let u: URL
    try {
      u = new URL(o)
    } catch {
      throw new ToolError("invalid_message", `fetchAllow holds origins like https://api.example.com, got ${JSON.stringify(o)}`)
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new ToolError("invalid_message", `fetchAllow holds http(s) origins, got ${JSON.stringify(o)}`)
  }
  for (const [k, v] of Object.entries(input.env ?? {})) if (typeof v !== "string") throw new ToolError("invalid_message", `env.${k} must be a string`)
}

/** The envelope code of a sandbox failure, by its `SandboxError` code: limits, the allow-list, or the tool's own failure. */
const SANDBOX_CODES: Readonly<Record<string, ErrorCode>> = {
  cpu_limit: "timeout",
  wall_limit: "timeout",
  memory_limit: "too_large",
  result_too_large: "too_large",
  fetch_denied: "forbidden",
  unavailable: "unavailable",
}

function sandboxCode(e: unknown): ErrorCode {
  const code = (e as { code?: unknown })?.code
  return (typeof code === "string" && Object.hasOwn(SANDBOX_CODES, code) ? SANDBOX_CODES[code] : undefined) ?? "handler_failed"
}

/**
 * `sandbox` absent (a node without isolated-vm, the sandbox's optional peer): tools are stored,
 * listed and deprecated, and a run is answered `unavailable` without counting.
 */
export function createToolRegistry(options: { readonly store: ToolStore; readonly sandbox?: ToolSandbox }): ToolRegistry {
  const { store, sandbox } = options

  async function info(tenant: string, head: ToolHead): Promise<ToolInfo> {
    const stats = await store.stats(tenant, head.name)
    const current = stats?.version === head.version ? stats : emptyStats(head.version)
    return { ...head, status: statusOf(head, current), stats: current }
  }

  async function headOf(tenant: string, name: string): Promise<ToolHead> {
    if (typeof name !== "string" || !TOOL_NAME.test(name)) throw new ToolError("invalid_message", `a tool name is 1-64 letters, digits, '_' or '-', got ${JSON.stringify(name)}`)
    const head = await store.head(tenant, name)
    if (!head) throw new ToolError("not_found", `tenant ${tenant} has no tool "${name}" (npx ants tool list --tenant ${tenant})`)
    return head
  }

  return {
    async register(tenant, input) {
      checkRegistration(input)
      const schema = toJsonSchema(input.schema)
      checkSchema(schema)
      const resultSchema = input.resultSchema === undefined ? undefined : toJsonSchema(input.resultSchema)
      if (resultSchema) checkSchema(resultSchema)
      return await store.register(tenant, {
        name: input.name,
        source: input.source,
        description: input.description ?? "",
        level: input.level ?? "restricted",
        schema,
        ...(resultSchema ? { resultSchema } : {}),
        ...(input.fetchAllow?.length ? { fetchAllow: [...input.fetchAllow] } : {}),
        ...(input.env && Object.keys(input.env).length ? { env: { ...input.env } } : {}),
      })
    },
    async list(tenant) {
      return await Promise.all((await store.heads(tenant)).map((h) => info(tenant, h)))
    },
    async get(tenant, name) {
      return await info(tenant, await headOf(tenant, name))
    },
    async run(tenant, name, args) {
      const head = await headOf(tenant, name)
      const issues = schemaIssues(head.schema, args)
      if (issues.length > 0) throw new ToolError("invalid_message", `arguments of ${name} do not fit its schema: ${formatIssues(issues)}`, { issues })
      if (!sandbox) throw new ToolError("unavailable", `this node has no sandbox to run ${name} in (isolated-vm is not installed)`)
      const version = await store.version(tenant, name, head.version)
      if (!version) throw new ToolError("unavailable", `version ${head.version} of ${name} is missing from the registry`)
      const started = performance.now()
      let value: unknown
      let failure: ToolError | undefined
      try {
        value = await sandbox.run({
          tenant,
          level: version.level,
          source: version.source,
          args,
          ...(version.fetchAllow ? { fetchAllow: version.fetchAllow } : {}),
          ...(version.env ? { env: version.env } : {}),
        })
        if (value === undefined) value = null
        if (version.resultSchema) {
          const bad = schemaIssues(version.resultSchema, value)
          if (bad.length > 0) failure = new ToolError("handler_failed", `the result of ${name} does not fit its result schema: ${formatIssues(bad)}`, { issues: bad })
        }
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e)
        failure = isToolError(e) ? e : new ToolError(sandboxCode(e), `${name} failed: ${message}`, { sandbox: (e as { code?: unknown })?.code ?? tagOf(e) })
      }
      const durationMs = performance.now() - started
      // a sandbox that is full or missing says nothing about the tool: not counted
      if (failure?.code === "unavailable") throw failure
      await store.recordOutcome(tenant, name, version.version, failure === undefined, durationMs)
      if (failure) throw failure
      return { value, version: version.version, durationMs, ...(head.deprecated ? { deprecated: { replacement: head.deprecated.replacement } } : {}) }
    },
    async deprecate(tenant, name, o) {
      await headOf(tenant, name)
      if (typeof o?.replacement !== "string" || !TOOL_NAME.test(o.replacement)) throw new ToolError("invalid_message", "deprecate needs the name of the replacement tool")
      if (o.replacement === name) throw new ToolError("invalid_message", `a tool cannot replace itself`)
      if (!(await store.head(tenant, o.replacement))) throw new ToolError("not_found", `the replacement "${o.replacement}" is not a tool of tenant ${tenant}: register it first`)
      return await store.deprecate(tenant, name, { replacement: o.replacement, ...(o.reason ? { reason: o.reason } : {}) })
    },
  }
}
