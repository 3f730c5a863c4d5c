/**
 * `ants tool register|list|show|run|deprecate` (declared in commands.ts as TOOL): the tenant's
 * tool registry from a shell, through the registry's subjects (runtime/tools/client.ts), so it
 * works with a tenant's own credentials as with the operator's.
 *
 * Exit codes: 0 ok, 1 the registry refused or the run failed (the error envelope with --json),
 * 2 usage (a schema that is not JSON, a missing file).
 */
import { existsSync, readFileSync } from "node:fs"
import type { NatsConnection } from "@nats-io/nats-core"
import { isToolError, registerOpenApi, toolsClient, type JsonSchema, type OpenApiCredentials, type ToolInfo } from "../tools/mod.ts"
import type { Parsed } from "./command-spec.ts"
import type { TOOL } from "./commands.ts"
import type { Io } from "./io.ts"
import { UsageError } from "./usage-error.ts"

type ToolParsed = Parsed<(typeof TOOL)["options"]>

/** A schema given as JSON text or as a file holding it. */
function schemaArg(raw: string, flag: string): JsonSchema {
  const text = raw.trim().startsWith("{") ? raw : existsSync(raw) ? readFileSync(raw, "utf8") : undefined
  if (text === undefined) throw new UsageError(`${flag} takes a JSON Schema object or a .json file holding one; no file ${raw}`)
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw new UsageError(`${flag} is not JSON: ${(e as Error).message}`)
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UsageError(`${flag} must be a JSON Schema object, e.g. {"type":"object","properties":{...}}`)
  return v as JsonSchema
}

function argsOf(raw: string | undefined): unknown {
  if (raw === undefined) return {}
  try {
    return JSON.parse(raw)
  } catch (e) {
    throw new UsageError(`the arguments are not JSON: ${(e as Error).message}`)
  }
}

/** Checks what the declaration cannot say alone, before connecting. */
export function checkTool(parsed: ToolParsed): void {
  const v = parsed.values
  if (parsed.subcommand === "register") {
    if ((v.file === undefined) === (v.source === undefined)) throw new UsageError("tool register needs the module: --file <js> or --source '<js>' (one of them)")
    if (v.file !== undefined && !existsSync(v.file)) throw new UsageError(`--file ${v.file}: no such file`)
    if (v.schema === undefined) throw new UsageError(`tool register needs --schema <json|file>: the arguments' JSON Schema`)
    schemaArg(v.schema, "--schema")
    if (v["result-schema"] !== undefined) schemaArg(v["result-schema"], "--result-schema")
  }
  if (parsed.subcommand === "run") argsOf(parsed.args[1])
  if (parsed.subcommand === "import") credentialsOf(v)
  if (parsed.subcommand === "deprecate" && v.replacement === undefined) throw new UsageError("tool deprecate needs --replacement <name>: the tool to use instead")
}

/** An imported API's credentials, from the environment variables the options name. */
function credentialsOf(v: ToolParsed["values"]): OpenApiCredentials | undefined {
  const read = (name: string, flag: string) => {
    const value = process.env[name]
    if (!value) throw new UsageError(`${flag} ${name}: the environment variable ${name} is not set`)
    return value
  }
  if ((v["api-key-header"] !== undefined || v["api-key-query"] !== undefined) !== (v["api-key-env"] !== undefined)) throw new UsageError("--api-key-env goes with one of --api-key-header <name> or --api-key-query <name>")
  if (v["api-key-header"] !== undefined && v["api-key-query"] !== undefined) throw new UsageError("an API key goes in a header or in the query, not both")
  const bearer = v["bearer-env"] === undefined ? undefined : read(v["bearer-env"], "--bearer-env")
  const key = v["api-key-env"] === undefined ? undefined : read(v["api-key-env"], "--api-key-env")
  const apiKey = key === undefined ? undefined : v["api-key-header"] !== undefined ? { in: "header" as const, name: v["api-key-header"], value: key } : { in: "query" as const, name: v["api-key-query"]!, value: key }
  return bearer || apiKey ? { ...(bearer ? { bearer } : {}), ...(apiKey ? { apiKey } : {}) } : undefined
}

const pct = (r: number) => `${(r * 100).toFixed(0)}%`

function line(t: ToolInfo): string {
  const s = t.stats
  const use = s.lastUsedAt ? `last used ${s.lastUsedAt}` : "never run"
  const dep = t.deprecated ? `  -> use ${t.deprecated.replacement}` : ""
  return `${t.name.padEnd(20)} v${String(t.version).padEnd(3)} ${t.level.padEnd(10)} ${t.status.padEnd(10)} ${String(s.runs).padStart(5)} runs  ${pct(s.successRate).padStart(4)} ok  ${s.meanDurationMs.toFixed(1)} ms  ${use}${dep}`
}

export async function runTool(parsed: ToolParsed, io: Io & { readonly json: boolean; readonly nc: NatsConnection }): Promise<number> {
  checkTool(parsed)
  const v = parsed.values
  const client = toolsClient(io.nc, v.tenant, { timeoutMs: v.timeout })
  const name = parsed.args[0]!
  const print = (value: unknown, text: () => string[]) => {
    if (io.json) io.out(JSON.stringify({ ok: true, value }))
    else for (const l of text()) io.out(l)
  }
  try {
    switch (parsed.subcommand) {
      case "register": {
        const head = await client.register({
          name,
          source: v.source ?? readFileSync(v.file!, "utf8"),
          schema: schemaArg(v.schema!, "--schema"),
          ...(v["result-schema"] === undefined ? {} : { resultSchema: schemaArg(v["result-schema"], "--result-schema") }),
          level: v.level,
          ...(v.description === undefined ? {} : { description: v.description }),
          ...(v["fetch-allow"] === undefined ? {} : { fetchAllow: v["fetch-allow"] }),
        })
        print(head, () => [`registered ${head.name} v${head.version} (${head.level}, testing) in tenant ${v.tenant}`])
        return 0
      }
      case "list": {
        const tools = await client.list()
        print({ tools }, () => (tools.length === 0 ? [`tenant ${v.tenant} has no tools`] : tools.map(line)))
        return 0
      }
      case "show": {
        const t = await client.get(name)
        print(t, () => [line(t), `  ${t.description || "(no description)"}`, `  arguments: ${JSON.stringify(t.schema)}`, ...(t.resultSchema ? [`  result: ${JSON.stringify(t.resultSchema)}`] : [])])
        return 0
      }
      case "run": {
        const r = await client.run(name, argsOf(parsed.args[1]), { timeoutMs: v.timeout })
        if (r.deprecated) io.err(`ants tool: ${name} is deprecated; use ${r.deprecated.replacement}`)
        print(r, () => [JSON.stringify(r.value)])
        return 0
      }
      case "import": {
        const credentials = credentialsOf(v)
        const { heads } = await registerOpenApi(client, name, { ...(v.prefix ? { prefix: v.prefix } : {}), ...(v["base-url"] ? { baseUrl: v["base-url"] } : {}), ...(credentials ? { credentials } : {}) })
        print({ tools: heads }, () => [`registered ${heads.length} tool(s) from ${name} in tenant ${v.tenant}:`, ...heads.map((h) => `  ${h.name.padEnd(24)} v${h.version}  ${h.description}`)])
        return 0
      }
      case "deprecate": {
        const head = await client.deprecate(name, v.replacement!, v.reason)
        print(head, () => [`${name} is deprecated; callers are told to use ${v.replacement}`])
        return 0
      }
    }
    return 0
  } catch (e) {
    if (!isToolError(e)) throw e
    if (io.json) io.out(JSON.stringify({ ok: false, error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } }))
    else io.err(`ants tool ${parsed.subcommand}: ${e.message}`)
    return 1
  }
}
