/**
 * Tools: the live tool registry (code plus schema, stored versioned in KV per tenant, run in
 * the sandbox, promoted by its record, deprecated with a replacement, statistics shared across
 * nodes), its NATS subjects and client, tools for agents by name, MCP both ways and OpenAPI
 * integrations.
 *
 * Promises: a tool runs only in the sandbox at its level, for its own tenant, after its
 * arguments fit its schema; every run's outcome is counted once, whichever node ran it; a
 * tenant reaches only its own tools (the server checks the subject).
 *
 * May import: sandbox, models, agent, client, security, server, limits, observability.
 *
 * Names: ToolError, isToolError, ToolRegistry, createToolRegistry, ToolSandbox, RegisterInput,
 * MAX_TOOL_SOURCE_BYTES, ToolStore, openToolStore, serveTools, ToolService, ToolServiceOptions,
 * startTools, NodeTools, NodeToolsOptions, toolsClient, ToolsClient, DEFAULT_RUN_TIMEOUT_MS,
 * DEFAULT_TOOLS_TIMEOUT_MS, PROMOTION, STATS_WINDOW, withOutcome, statusOf, toJsonSchema,
 * schemaIssues, ToolSchema, TOOL_LEVELS, ToolLevel, ToolStatus, ToolHead, ToolVersion,
 * ToolStats, ToolInfo, ToolRunResult, JsonSchema, antsMcpServer, serveMcpStdio, serveMcpHttp,
 * McpServeOptions, McpHttpOptions, McpHttpServer, jsonTool, toolNameOf, mcpTools, McpServerConfig,
 * McpToolset, McpToolsOptions, registryTool, registryTools, loadOpenApi, openApiOperations,
 * openApiTools, registerOpenApi, OpenApiCredentials, OpenApiOptions, registerMcpServer.
 */
export { ToolError, isToolError } from "./errors.ts"
export { MAX_TOOL_SOURCE_BYTES, createToolRegistry } from "./registry.ts"
export type { RegisterInput, ToolRegistry, ToolSandbox } from "./registry.ts"
export { openToolStore } from "./store.ts"
export type { ToolStore } from "./store.ts"
export { serveTools } from "./service.ts"
export type { ToolService, ToolServiceOptions } from "./service.ts"
export { startTools } from "./start-tools.ts"
export type { NodeTools, NodeToolsOptions } from "./start-tools.ts"
export { DEFAULT_RUN_TIMEOUT_MS, DEFAULT_TOOLS_TIMEOUT_MS, toolsClient } from "./client.ts"
export type { ToolsClient } from "./client.ts"
export { PROMOTION, STATS_WINDOW, statusOf, withOutcome } from "./stats.ts"
export { schemaIssues, toJsonSchema } from "./schema.ts"
export type { ToolSchema } from "./schema.ts"
export { TOOL_LEVELS } from "./types.ts"
export type { JsonSchema, ToolHead, ToolInfo, ToolLevel, ToolRunResult, ToolStats, ToolStatus, ToolVersion } from "./types.ts"
export { antsMcpServer, serveMcpHttp, serveMcpStdio } from "./mcp-server.ts"
export type { McpHttpOptions, McpHttpServer, McpServeOptions } from "./mcp-server.ts"
export { jsonTool, toolNameOf } from "./json-tool.ts"
export { mcpTools } from "./mcp-client.ts"
export type { McpServerConfig, McpToolset, McpToolsOptions } from "./mcp-client.ts"
export { registryTool, registryTools } from "./registry-tool.ts"
export { loadOpenApi, openApiOperations, openApiTools, registerOpenApi } from "./openapi.ts"
export type { OpenApiCredentials, OpenApiOptions } from "./openapi.ts"
export { registerMcpServer } from "./mcp-registry.ts"
