/**
 * `createGateway`: the HTTP gateway in front of a swarm, a client of NATS like any other (it
 * hosts no actor). It authenticates every request by bearer token (no anonymous access), acts
 * through the token's principal (a tenant token through that tenant's own NATS connection, so
 * the server enforces the tenant's permissions), and serves asks, tells, streamed asks, wakes,
 * tasks, the agent repository, its OpenAPI document, Agent2Agent for conversational types and
 * the dashboard. Embeddable: `app` is a Hono app (mount it, or call `app.fetch`); `serve`
 * listens on an address (127.0.0.1 unless told otherwise). Hono, its Node server and the A2A SDK
 * are loaded when the first gateway is made (gateway-app.ts), not with the runtime.
 */
import type { Gateway, GatewayOptions } from "./gateway-options.ts"

export { GATEWAY_DEFAULTS } from "./gateway-options.ts"
export type { Gateway, GatewayListener, GatewayOptions } from "./gateway-options.ts"

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { buildGateway } = await import("./gateway-app.ts")
  return buildGateway(options)
}
