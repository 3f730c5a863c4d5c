/**
 * Argument and result schemas: JSON Schema, validated with ajv (one compiled validator per
 * schema text, cached), or an Effect `Schema` turned into its JSON Schema once, at
 * registration, so what is stored and what any client reads is JSON Schema. A schema that does
 * not compile is refused when the tool is registered, never when it runs.
 */
import { createRequire } from "node:module"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import type { ErrorObject, ValidateFunction } from "ajv"
import { ToolError } from "./errors.ts"
import type { JsonSchema } from "./types.ts"

// ajv is CommonJS with `exports.default`: required, it is the class under both node and tsx
const Ajv = createRequire(import.meta.url)("ajv") as typeof import("ajv").default

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false })
const compiled = new Map<string, ValidateFunction>()
const MAX_CACHED = 1_000

/** A JSON Schema, or an Effect Schema to derive one from. */
export type ToolSchema = JsonSchema | Schema.Schema.Any

function isEffectSchema(s: unknown): s is Schema.Schema.Any {
  return Schema.isSchema(s)
}

/** The JSON Schema of a schema given either way (without `$schema`, as model APIs want it). */
export function toJsonSchema(schema: ToolSchema): JsonSchema {
  if (isEffectSchema(schema)) {
    const js = { ...(JSONSchema.make(schema as Schema.Schema<unknown, unknown>) as unknown as JsonSchema) }
    delete js.$schema
    return js
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) throw new ToolError("invalid_message", "a tool schema is a JSON Schema object or an Effect Schema")
  return schema
}

function validatorOf(schema: JsonSchema): ValidateFunction {
  const key = JSON.stringify(schema)
  let v = compiled.get(key)
  if (!v) {
    try {
      v = ajv.compile(schema)
    } catch (e) {
      throw new ToolError("invalid_message", `the schema does not compile: ${(e as Error).message}`, { schema })
    }
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!)
    compiled.set(key, v)
  }
  return v
}

/** Refuses a schema that does not compile (at registration). */
export function checkSchema(schema: JsonSchema): void {
  validatorOf(schema)
}

export interface SchemaIssue {
  readonly path: string
  readonly message: string
}

/** The issues of `value` against `schema`; empty when it fits. */
export function schemaIssues(schema: JsonSchema, value: unknown): ReadonlyArray<SchemaIssue> {
  const v = validatorOf(schema)
  if (v(value)) return []
  return (v.errors ?? []).map((e: ErrorObject) => ({ path: e.instancePath || "/", message: e.message ?? e.keyword }))
}

export function formatIssues(issues: ReadonlyArray<SchemaIssue>): string {
  return issues.map((i) => `${i.path} ${i.message}`).join("; ")
}
