/**
 * A model `Tool` (runtime/models) from a JSON Schema rather than an Effect Schema: what registry,
 * MCP and OpenAPI tools are. The model sees the schema as it is; arguments that do not fit it
 * (checked with ajv) are handed back to the model as the tool's error, as for function tools,
 * and never run.
 */
import * as Either from "effect/Either"
import { ToolCallError, type Tool, type ToolContext, type ToolImpact } from "../models/mod.ts"
import { formatIssues, schemaIssues } from "./schema.ts"
import type { JsonSchema } from "./types.ts"

const NAME = /^[A-Za-z0-9_-]{1,64}$/

/** A name as model APIs accept it: other characters become `_`, at most 64. */
export function toolNameOf(raw: string): string {
  const n = raw.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64)
  return n.length > 0 ? n : "tool"
}

export function jsonTool(spec: { readonly name: string; readonly description: string; readonly schema: JsonSchema; readonly run: (args: unknown, ctx: ToolContext) => Promise<unknown>; readonly impact?: ToolImpact }): Tool {
  if (!NAME.test(spec.name)) throw new ToolCallError(`tool name "${spec.name}" must be 1-64 letters, digits, '_' or '-' (what model APIs accept)`, spec.name)
  const parameters = { type: "object", ...spec.schema }
  delete (parameters as { $schema?: unknown }).$schema
  return {
    name: spec.name,
    description: spec.description,
    spec: { name: spec.name, description: spec.description, parameters },
    decode(args) {
      const issues = schemaIssues(parameters, args)
      if (issues.length === 0) return Either.right(args)
      const text = formatIssues(issues)
      return Either.left(new ToolCallError(`arguments of ${spec.name} do not fit its schema: ${text}`, spec.name, text))
    },
    run: (args, ctx) => spec.run(args, ctx),
    ...(spec.impact ? { impact: spec.impact } : {}),
  }
}
