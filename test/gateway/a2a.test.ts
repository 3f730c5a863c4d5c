/**
 * Agent2Agent through the gateway: the official A2A client (`@a2a-js/sdk`) reads a
 * conversational type's agent card and talks to it over JSON-RPC, with the gateway's bearer
 * token; the conversation is an actor of the type (offline model provider), so a second message
 * in the same context continues it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Role } from "@a2a-js/sdk"
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from "@a2a-js/sdk/client"
import { gatewaySwarm, type GatewaySwarm } from "./fixture.ts"

let s: GatewaySwarm
beforeAll(async () => {
  s = await gatewaySwarm()
}, 60_000)
afterAll(async () => {
  await s?.stop()
})

const withToken = (token: string): typeof fetch => (input, init) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers).entries()), authorization: `Bearer ${token}` } })

const factory = (token: string) =>
  new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: withToken(token) })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl: withToken(token) }),
    }),
  )

const userMessage = (contextId: string, text: string) => ({
  messageId: crypto.randomUUID(),
  contextId,
  taskId: "",
  role: Role.ROLE_USER,
  parts: [{ content: { $case: "text" as const, value: text }, metadata: undefined, filename: "", mediaType: "text/plain" }],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
})

describe("gateway a2a", () => {
  it("gateway a2a - a real A2A client reads the agent card and talks to a conversational agent", async () => {
    const client = await factory(s.tokens.acme).createFromUrl(`${s.listener.url}/v1/a2a/assistant/`)
    const card = await client.getAgentCard()
    expect(card.name).toBe("assistant")
    expect(card.supportedInterfaces[0]).toMatchObject({ url: `${s.listener.url}/v1/a2a/assistant`, protocolBinding: "JSONRPC" })
    expect(card.skills.map((k) => k.name)).toEqual(["counter_add", "counter_get", "transfer"])

    const first = await client.sendMessage({ tenant: "", message: userMessage("conv-1", "counter_add id=x1 n=4"), configuration: undefined, metadata: undefined } as never)
    const answer = first as { role: Role; contextId: string; parts: Array<{ content?: { $case: string; value: string } }> }
    expect(answer.role).toBe(Role.ROLE_AGENT)
    expect(answer.contextId).toBe("conv-1")
    expect(answer.parts[0]!.content!.value).toContain('{"total":4}')
    // the same context is the same actor: its conversation has both turns
    await client.sendMessage({ tenant: "", message: userMessage("conv-1", "counter_get id=x1"), configuration: undefined, metadata: undefined } as never)
    const history = ((await (await s.call(s.tokens.acme, "POST", "/v1/agents/assistant/conv-1/History")).json()) as any).value
    expect(history.turns).toBe(2)
    // the tool call reached acme's counter, not another tenant's
    expect(((await (await s.call(s.tokens.acme, "POST", "/v1/agents/counter/x1/Get")).json()) as any).value.total).toBe(4)
  })

  it("gateway a2a - the card and the endpoint need a token, and only conversational types speak A2A", async () => {
    expect((await fetch(`${s.listener.url}/v1/a2a/assistant/.well-known/agent-card.json`)).status).toBe(401)
    expect((await fetch(`${s.listener.url}/v1/a2a/assistant`, { method: "POST", body: "{}" })).status).toBe(401)
    expect((await s.call(s.tokens.acme, "GET", "/v1/a2a/counter/.well-known/agent-card.json")).status).toBe(404)
  })
})
