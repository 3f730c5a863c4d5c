/**
 * Layer `gateway`: HTTP in front of a swarm. `createGateway` returns a Hono app (embeddable)
 * that authenticates every API request by bearer token and acts through the token's principal:
 * asks, tells, streamed asks (Server-Sent Events), wakes, durable tasks and dead letters, the
 * agent repository (types with their protocols' JSON Schemas and capabilities), an OpenAPI 3.1
 * document generated from the protocols, Agent2Agent for conversational types, and the dashboard.
 *
 * Promises: no anonymous access (401 without a known token); a tenant token acts only through
 * its tenant's NATS principal, so the server refuses it another tenant's subjects even where
 * this code would not; every failure is an ANTS error envelope under the HTTP status
 * `STATUS_OF_CODE` gives its code; the reply of an ask is passed through as the node wrote it.
 * May import: subjects/, runtime/agent, runtime/client, runtime/security, runtime/server,
 * runtime/tasks, runtime/models, runtime/stigmergy, runtime/cluster, runtime/governance,
 * runtime/tools, runtime/observability, runtime/limits.
 * Never imports: runtime/actor, runtime/node, runtime/cli.
 */
export { GATEWAY_DEFAULTS, createGateway } from "./gateway.ts"
export type { Gateway, GatewayListener, GatewayOptions } from "./gateway.ts"
export { GatewayConfigError, readTokensFile, tokenTable } from "./principals.ts"
export type { Caller, GatewayPrincipal, TokenTable } from "./principals.ts"
export { GatewayError } from "./errors.ts"
export { STATUS_OF_CODE, statusOf } from "./status-codes.ts"
export { openApiDocument } from "./openapi.ts"
export { isConversational, typeRepository, typeSchemas } from "./type-repository.ts"
export type { TagSchemas, TypeEntry, TypeRepository, TypeSchemas } from "./type-repository.ts"
