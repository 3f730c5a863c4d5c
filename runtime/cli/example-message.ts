/**
 * A message the node's ready banner can suggest that its agents really accept: a sample body
 * built from a tag's JSON Schema (strings "hi", numbers 1, required fields only), kept only if
 * the tag's own decoder accepts it. When no tag of the type gets one, the suggestion is the
 * runtime tag `_Inspect`, which takes no body and every actor answers.
 */
import * as Either from "effect/Either"
import type { AgentDefinition } from "../agent/define-agent.ts"

export interface ExampleMessage {
  readonly tag: string
  /** The JSON body, or undefined when the tag takes none. */
  readonly body: string | undefined
}

type JsonSchema = Record<string, unknown>

function sample(schema: JsonSchema, root: JsonSchema, depth = 0): unknown {
  if (depth > 8) return undefined
  const ref = schema.$ref
  if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
    const def = (root.$defs as Record<string, JsonSchema> | undefined)?.[ref.slice("#/$defs/".length)]
    return def ? sample(def, root, depth + 1) : undefined
  }
  if ("const" in schema) return schema.const
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0]
  for (const k of ["anyOf", "oneOf"] as const) {
    const alts = schema[k]
    if (Array.isArray(alts) && alts.length) return sample(alts[0] as JsonSchema, root, depth + 1)
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length) return sample(schema.allOf[0] as JsonSchema, root, depth + 1)
  switch (schema.type) {
    case "string": {
      const min = typeof schema.minLength === "number" ? schema.minLength : 0
      return "hi".padEnd(min, "!")
    }
    case "number":
    case "integer":
      return typeof schema.minimum === "number" ? Math.max(schema.minimum, 1) : 1
    case "boolean":
      return true
    case "null":
      return null
    case "array":
      return []
    case "object": {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>
      const required = Array.isArray(schema.required) ? (schema.required as string[]) : []
      const out: Record<string, unknown> = {}
      for (const k of required) if (props[k]) out[k] = sample(props[k], root, depth + 1)
      return out
    }
    default:
      return {}
  }
}

/** The first tag of the type with a sample body its decoder accepts, else `_Inspect`. */
export function exampleMessage(def: AgentDefinition<any, any>): ExampleMessage {
  let schemas: Record<string, { message: unknown }>
  try {
    schemas = def.protocol.jsonSchema()
  } catch {
    return { tag: "_Inspect", body: undefined }
  }
  for (const tag of def.protocol.tags) {
    const schema = schemas[tag]?.message as JsonSchema | undefined
    const compiled = def.protocol.compiled.get(tag)
    if (!schema || !compiled) continue
    const body = sample(schema, schema)
    if (body !== undefined && Either.isRight(compiled.decodeMessage(body))) return { tag, body: JSON.stringify(body) }
  }
  return { tag: "_Inspect", body: undefined }
}
