/**
 * OpenAPI integrations: an OpenAPI 3 document (an object, a JSON file or a URL) becomes one
 * registry tool per operation — named by its operationId, else method and path — whose
 * arguments are the operation's parameters (by name) and its JSON request body (`body`), and
 * whose module calls the operation with `fetch` in the `restricted` sandbox, allowed only to the
 * document's server (or `baseUrl`). Credentials come from configuration (a bearer token, or an
 * API key in a header or the query) and are given to the module as its environment, never put
 * in its arguments; the model never sees them.
 *
 * A response is the tool's result `{status, body}` (body parsed as JSON when it is JSON); a 5xx
 * answer or a network failure is a failed run (it counts against the tool's success rate), a
 * 4xx is returned (the caller's arguments were wrong).
 */
import { readFile } from "node:fs/promises"
import type { Tool } from "../models/mod.ts"
import type { ToolsClient } from "./client.ts"
import { ToolError } from "./errors.ts"
import { toolNameOf } from "./json-tool.ts"
import type { RegisterInput } from "./registry.ts"
import { registryTool } from "./registry-tool.ts"
import type { JsonSchema, ToolHead } from "./types.ts"

export interface OpenApiCredentials {
  /** `Authorization: Bearer <token>`. */
  readonly bearer?: string
  /** An API key sent in a header or a query parameter. */
  readonly apiKey?: { readonly in: "header" | "query"; readonly name: string; readonly value: string }
}

export interface OpenApiOptions {
  /** Before each tool name (`<prefix>_<operation>`). */
  readonly prefix?: string
  /** The server to call, instead of the document's first `servers` entry. */
  readonly baseUrl?: string
  readonly credentials?: OpenApiCredentials
  /** Only these operations (operationIds or generated names). */
  readonly include?: ReadonlyArray<string>
}

type Doc = { openapi?: string; servers?: Array<{ url: string }>; paths?: Record<string, Record<string, unknown>>; components?: unknown }
type Operation = { operationId?: string; summary?: string; description?: string; parameters?: unknown[]; requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> } }
type Param = { name: string; in: "path" | "query" | "header" | "cookie"; required?: boolean; description?: string; schema?: unknown }

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const

/** Reads a document from a file or an http(s) URL (JSON). */
export async function loadOpenApi(source: string): Promise<Doc> {
  let text: string
  if (/^https?:\/\//.test(source)) {
    const r = await fetch(source)
    if (!r.ok) throw new ToolError("unavailable", `could not fetch the OpenAPI document ${source}: HTTP ${r.status}`)
    text = await r.text()
  } else text = await readFile(source, "utf8")
  try {
    return JSON.parse(text) as Doc
  } catch {
    throw new ToolError("invalid_message", `${source} is not a JSON OpenAPI document (YAML documents: convert them to JSON first)`)
  }
}

/** Inlines local `$ref`s (`#/components/...`), refusing cycles deeper than a few levels. */
function resolve(doc: Doc, v: unknown, depth = 0): unknown {
  if (depth > 32) throw new ToolError("invalid_message", "the OpenAPI document's $refs nest too deep (a cycle?)")
  if (Array.isArray(v)) return v.map((x) => resolve(doc, x, depth))
  if (typeof v !== "object" || v === null) return v
  const ref = (v as { $ref?: unknown }).$ref
  if (typeof ref === "string") {
    if (!ref.startsWith("#/")) throw new ToolError("invalid_message", `only local $refs are supported, got ${ref}`)
    let target: unknown = doc
    for (const part of ref.slice(2).split("/")) target = (target as Record<string, unknown> | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")]
    if (target === undefined) throw new ToolError("invalid_message", `$ref ${ref} points at nothing`)
    return resolve(doc, target, depth + 1)
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(doc, x, depth)]))
}

/** The module of one operation: the call's shape as data, credentials read from the environment. */
function moduleOf(call: { method: string; base: string; path: string; params: Array<{ name: string; in: string }>; hasBody: boolean }): string {
  return `const CALL = ${JSON.stringify(call)};
export default async function (args, context) {
  const env = (context && context.env) || globalThis.env || {};
  let path = CALL.path;
  const query = [];
  const q = (k, v) => query.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
  const headers = { accept: "application/json" };
  for (const p of CALL.params) {
    const v = args[p.name];
    if (v === undefined) continue;
    if (p.in === "path") path = path.split("{" + p.name + "}").join(encodeURIComponent(String(v)));
    else if (p.in === "query") q(p.name, typeof v === "object" ? JSON.stringify(v) : String(v));
    else if (p.in === "header") headers[p.name] = String(v);
  }
  if (env.ANTS_BEARER) headers.authorization = "Bearer " + env.ANTS_BEARER;
  if (env.ANTS_API_KEY_NAME && env.ANTS_API_KEY_IN === "header") headers[env.ANTS_API_KEY_NAME] = env.ANTS_API_KEY;
  if (env.ANTS_API_KEY_NAME && env.ANTS_API_KEY_IN === "query") q(env.ANTS_API_KEY_NAME, env.ANTS_API_KEY);
  const init = { method: CALL.method.toUpperCase(), headers };
  if (CALL.hasBody && args.body !== undefined) { headers["content-type"] = "application/json"; init.body = JSON.stringify(args.body); }
  const qs = query.join("&");
  const r = await fetch(CALL.base + path + (qs ? "?" + qs : ""), init);
  const text = typeof r.text === "function" ? await r.text() : String(r.body ?? "");
  let body = text;
  try { body = JSON.parse(text); } catch {}
  if (r.status >= 500) throw new Error(CALL.method.toUpperCase() + " " + CALL.path + " answered " + r.status + ": " + text.slice(0, 200));
  return { status: r.status, body };
}
`
}

/** One registration per operation of the document (pure: nothing is stored). */
export function openApiOperations(doc: Doc, options: OpenApiOptions = {}): RegisterInput[] {
  if (typeof doc?.openapi !== "string" || !doc.openapi.startsWith("3")) throw new ToolError("invalid_message", `not an OpenAPI 3 document (its "openapi" field is ${JSON.stringify(doc?.openapi)})`)
  const base = (options.baseUrl ?? doc.servers?.[0]?.url)?.replace(/\/+$/, "")
  if (!base || !/^https?:\/\//.test(base)) throw new ToolError("invalid_message", "the document names no absolute http(s) server: give baseUrl")
  const origin = new URL(base).origin
  const env: Record<string, string> = {}
  const c = options.credentials
  if (c?.bearer) env.ANTS_BEARER = c.bearer
  if (c?.apiKey) Object.assign(env, { ANTS_API_KEY_IN: c.apiKey.in, ANTS_API_KEY_NAME: c.apiKey.name, ANTS_API_KEY: c.apiKey.value })
  const out: RegisterInput[] = []
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const shared = ((item as { parameters?: unknown[] }).parameters ?? []) as unknown[]
    for (const method of METHODS) {
      const op = resolve(doc, item[method]) as Operation | undefined
      if (!op) continue
      const generated = toolNameOf(`${method}_${path.replace(/[{}]/g, "")}`).replace(/_+/g, "_").replace(/_$/, "")
      const name = toolNameOf([options.prefix, op.operationId ?? generated].filter(Boolean).join("_"))
      if (options.include && !options.include.includes(op.operationId ?? generated) && !options.include.includes(name)) continue
      const params = (resolve(doc, [...shared, ...(op.parameters ?? [])]) as Param[]).filter((p) => p.in !== "cookie")
      const properties: Record<string, unknown> = {}
      const required: string[] = []
      for (const p of params) {
        properties[p.name] = { ...((p.schema as JsonSchema) ?? { type: "string" }), ...(p.description ? { description: p.description } : {}) }
        if (p.required || p.in === "path") required.push(p.name)
      }
      const bodySchema = op.requestBody?.content?.["application/json"]?.schema
      if (bodySchema) {
        properties.body = bodySchema
        if (op.requestBody?.required) required.push("body")
      }
      out.push({
        name,
        description: [op.summary, op.description].filter(Boolean).join(": ") || `${method.toUpperCase()} ${path}`,
        schema: { type: "object", properties, ...(required.length ? { required } : {}) },
        source: moduleOf({ method, base, path, params: params.map((p) => ({ name: p.name, in: p.in })), hasBody: !!bodySchema }),
        level: "restricted",
        fetchAllow: [origin],
        ...(Object.keys(env).length ? { env } : {}),
      })
    }
  }
  return out
}

/** Registers every operation as a registry tool of the client's tenant; returns the heads and the model tools. */
export async function registerOpenApi(client: ToolsClient, source: string | Doc, options: OpenApiOptions = {}): Promise<{ heads: ToolHead[]; tools: Tool[] }> {
  const doc = typeof source === "string" ? await loadOpenApi(source) : source
  const ops = openApiOperations(doc, options)
  const heads: ToolHead[] = []
  for (const op of ops) heads.push(await client.register(op))
  return { heads, tools: openApiTools(ops) }
}

/** Model tools for operations registered from a document (`openApiOperations`), run through the registry by name. */
export function openApiTools(ops: ReadonlyArray<RegisterInput>): Tool[] {
  return ops.map((o) => registryTool(o.name, { description: o.description ?? o.name, parameters: o.schema }))
}
