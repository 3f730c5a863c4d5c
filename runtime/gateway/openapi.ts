/**
 * The OpenAPI 3.1 document of a gateway, generated from the protocols of the types it knows:
 * one operation per type and tag (ask, and tell; conversational types also the streamed ask),
 * with the message as the request body and the reply envelope as the answer, both from the
 * tag's Schema (the JSON Schemas `ants schema` prints). Definitions a schema shares (`$defs`)
 * become named components, so every `$ref` resolves inside the document.
 */
import type { TypeRepository } from "./type-repository.ts"

type Json = Record<string, unknown>

const ERROR_ENVELOPE: Json = {
  type: "object",
  required: ["ok", "error"],
  properties: {
    ok: { const: false },
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
    },
  },
}

const componentName = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_")

/** A schema made ready for `components/schemas`: no `$schema` or `$id`, its `$defs` moved out under `prefix`. */
function relocate(schema: Json, prefix: string, components: Json): Json {
  const defs = (schema.$defs ?? {}) as Record<string, Json>
  const rename = (name: string) => componentName(`${prefix}.${name}`)
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite)
    if (v === null || typeof v !== "object") return v
    const out: Json = {}
    for (const [k, x] of Object.entries(v as Json)) {
      // Effect marks some schemas with an `$id` ("/schemas/unknown"): repeated across a document it would be ambiguous
      if (k === "$schema" || k === "$defs" || k === "$id") continue
      if (k === "$ref" && typeof x === "string" && x.startsWith("#/$defs/")) out[k] = `#/components/schemas/${rename(x.slice("#/$defs/".length))}`
      else out[k] = rewrite(x)
    }
    return out
  }
  for (const [name, def] of Object.entries(defs)) components[rename(name)] = rewrite(def)
  return rewrite(schema) as Json
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })

const errorResponses = {
  "400": { description: "invalid_message, invalid_subject or invalid_request", content: { "application/json": { schema: ref("ErrorEnvelope") } } },
  "401": { description: "no bearer token, or an unknown one", content: { "application/json": { schema: ref("ErrorEnvelope") } } },
  "403": { description: "forbidden: the token may not reach this tenant, or the server refused its principal", content: { "application/json": { schema: ref("ErrorEnvelope") } } },
  default: { description: "any other error envelope (unknown_type 404, overloaded 503, handler_failed 500, timeout 504, ...)", content: { "application/json": { schema: ref("ErrorEnvelope") } } },
}

const tenantParam = { name: "tenant", in: "query", required: false, description: "operators: the tenant to act for (a tenant token acts for its own)", schema: { type: "string" } }
const timeoutParam = { name: "timeout", in: "query", required: false, description: "milliseconds to wait for the reply", schema: { type: "integer", minimum: 1 } }
const idParam = { name: "id", in: "path", required: true, description: "the actor's id", schema: { type: "string", pattern: "^[A-Za-z0-9_-]+$" } }

export function openApiDocument(repo: TypeRepository, info: { title?: string; version?: string } = {}): Json {
  const components: Json = { ErrorEnvelope: ERROR_ENVELOPE }
  const paths: Json = {}
  for (const t of repo.types) {
    for (const [tag, s] of Object.entries(t.tags)) {
      const base = componentName(`${t.type}.${tag}`)
      components[`${base}.message`] = relocate(s.message, `${base}.message`, components)
      components[`${base}.reply`] = relocate(s.reply, `${base}.reply`, components)
      const body = { required: true, content: { "application/json": { schema: ref(`${base}.message`) } } }
      const summary = s.description ?? `${t.type} ${tag}`
      paths[`/v1/agents/${t.type}/{id}/${tag}`] = {
        post: {
          operationId: `ask_${base}`,
          summary: `ask: ${summary}`,
          tags: [t.type],
          parameters: [idParam, tenantParam, timeoutParam],
          requestBody: body,
          responses: {
            "200": {
              description: "the reply envelope",
              content: { "application/json": { schema: { type: "object", required: ["ok", "value"], properties: { ok: { const: true }, value: ref(`${base}.reply`) } } } },
            },
            ...errorResponses,
          },
        },
      }
      paths[`/v1/agents/${t.type}/{id}/${tag}/tell`] = {
        post: {
          operationId: `tell_${base}`,
          summary: `tell: ${summary}`,
          tags: [t.type],
          parameters: [idParam, tenantParam, { name: "durable", in: "query", required: false, schema: { type: "boolean" } }],
          requestBody: body,
          responses: { "202": { description: "published (durable: stored)" }, ...errorResponses },
        },
      }
      if (t.conversational && tag === "Chat") {
        paths[`/v1/agents/${t.type}/{id}/${tag}/stream`] = {
          post: {
            operationId: `stream_${base}`,
            summary: `ask with the answer streamed as Server-Sent Events (delta events, then reply)`,
            tags: [t.type],
            parameters: [idParam, tenantParam, timeoutParam],
            requestBody: body,
            responses: { "200": { description: "an event stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errorResponses },
          },
        }
      }
    }
  }
  paths["/v1/tasks"] = {
    post: {
      operationId: "submitTask",
      summary: "submit a durable task",
      parameters: [tenantParam],
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: {
              type: "object",
              required: ["capability"],
              properties: {
                capability: { type: "string" },
                payload: {},
                priority: { oneOf: [{ type: "integer", minimum: 1, maximum: 10 }, { type: "string", enum: ["critical", "high", "normal", "low", "background"] }] },
                idempotencyKey: { type: "string" },
                sessionId: { type: "string" },
                notBefore: { type: ["string", "number"] },
                deadline: { type: ["string", "number"] },
              },
            },
          },
        },
      },
      responses: { "202": { description: "stored" }, ...errorResponses },
    },
  }
  paths["/v1/tasks/{id}"] = {
    get: { operationId: "taskStatus", summary: "a task's status record", parameters: [{ ...idParam, description: "the task's id" }, tenantParam], responses: { "200": { description: "the status record" }, ...errorResponses } },
  }
  paths["/v1/agents/{type}/{id}/wake"] = {
    post: {
      operationId: "wake",
      summary: "activate an actor (from its checkpoint, if any)",
      parameters: [{ name: "type", in: "path", required: true, schema: { type: "string" } }, idParam, tenantParam],
      requestBody: { required: false, content: { "application/json": { schema: { type: "object", properties: { reason: { type: "string" }, keepAliveMinutes: { type: "number", minimum: 0 }, sleepAfterMinutes: { type: "number", minimum: 0 } } } } } },
      responses: { "200": { description: "the actor's status" }, ...errorResponses },
    },
  }
  paths["/v1/types/{type}/wake"] = {
    post: {
      operationId: "wakeType",
      summary: "wake an instance of the type: one asleep or stored, else a new one",
      parameters: [{ name: "type", in: "path", required: true, schema: { type: "string" } }, tenantParam, timeoutParam],
      requestBody: { required: false, content: { "application/json": { schema: { type: "object", properties: { reason: { type: "string" }, keepAliveMinutes: { type: "number", minimum: 0 }, new: { type: "boolean" } } } } } },
      responses: { "200": { description: "{type, id, created, status}" }, ...errorResponses },
    },
  }
  paths["/v1/types"] = {
    get: { operationId: "listTypes", summary: "the agent types with their protocols' JSON Schemas and capabilities", responses: { "200": { description: "the types" }, ...errorResponses } },
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title ?? "ANTS gateway", version: info.version ?? "0.1.0", description: "Asks, tells and tasks for the agents of an ANTS swarm. Every answer is an ANTS envelope." },
    security: [{ bearer: [] }],
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
  }
}
