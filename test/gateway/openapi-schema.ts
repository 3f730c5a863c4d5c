/**
 * A minimal JSON Schema of an OpenAPI 3.1 document: what the gateway's document must have for
 * tools to read it (the version, info, paths of operations with responses, components whose
 * schemas are JSON Schemas, the security scheme). Not the whole official schema: enough to
 * fail on a document that tools would refuse.
 */
const operation = {
  type: "object",
  required: ["responses"],
  properties: {
    operationId: { type: "string", pattern: "^[A-Za-z0-9_.-]+$" },
    summary: { type: "string" },
    tags: { type: "array", items: { type: "string" } },
    parameters: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "in", "schema"],
        properties: { name: { type: "string" }, in: { enum: ["path", "query", "header", "cookie"] }, required: { type: "boolean" }, schema: { type: "object" } },
        if: { properties: { in: { const: "path" } } },
        then: { required: ["required"], properties: { required: { const: true } } },
      },
    },
    requestBody: {
      type: "object",
      required: ["content"],
      properties: { content: { type: "object", minProperties: 1, additionalProperties: { type: "object", required: ["schema"] } } },
    },
    responses: {
      type: "object",
      minProperties: 1,
      propertyNames: { pattern: "^([1-5][0-9X]{2}|default)$" },
      additionalProperties: { type: "object", required: ["description"], properties: { description: { type: "string" }, content: { type: "object" } } },
    },
  },
}

export const OPENAPI_31_MINIMAL = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["openapi", "info", "paths"],
  properties: {
    openapi: { type: "string", pattern: "^3\\.1\\.\\d+$" },
    info: { type: "object", required: ["title", "version"], properties: { title: { type: "string" }, version: { type: "string" } } },
    security: { type: "array", items: { type: "object" } },
    paths: {
      type: "object",
      propertyNames: { pattern: "^/" },
      additionalProperties: {
        type: "object",
        propertyNames: { enum: ["get", "put", "post", "delete", "options", "head", "patch", "trace", "parameters", "summary", "description"] },
        properties: { get: operation, post: operation, put: operation, delete: operation, patch: operation },
      },
    },
    components: {
      type: "object",
      properties: {
        schemas: { type: "object", propertyNames: { pattern: "^[a-zA-Z0-9._-]+$" }, additionalProperties: { type: ["object", "boolean"] } },
        securitySchemes: { type: "object", additionalProperties: { type: "object", required: ["type"] } },
      },
    },
  },
}
