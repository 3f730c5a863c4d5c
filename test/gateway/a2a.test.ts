/**
 * Agent2Agent through the gateway: the official A2A client (`@a2a-js/sdk`) reads a
 * conversational type's agent card and talks to it over JSON-RPC, with the gateway's bearer
 * token; the conversation is an actor of the type (offline model provider), so a second message
 * in the same context continues it; a streamed message is a task whose reply arrives in chunks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Role, TaskState } from "@a2a-js/sdk"
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

  it("gateway a2a - a streamed message is a task: working, the model's reply in appended chunks, then completed with the whole answer", async () => {
    const client = await factory(s.tokens.acme).createFromUrl(`${s.listener.url}/v1/a2a/assistant/`)
    expect((await client.getAgentCard()).capabilities?.streaming).toBe(true)
    const events: Array<{ $case: string; value: any }> = []
    for await (const e of client.sendMessageStream({ tenant: "", message: userMessage("conv-s", "counter_add id=x2 n=3"), configuration: undefined, metadata: undefined } as never)) events.push(e.payload as never)
    const kinds = events.map((e) => e.$case)
    expect(kinds[0]).toBe("task")
    expect(events[0]!.value.status.state).toBe(TaskState.TASK_STATE_WORKING)
    expect(kinds.at(-1)).toBe("statusUpdate")
    const done = events.at(-1)!.value
    expect(done.status.state).toBe(TaskState.TASK_STATE_COMPLETED)
    const answer = done.status.message.parts.map((p: any) => p.content.value).join("")
    expect(answer).toContain('{"total":3}')
    // the chunks, appended in order, are the model's text as it wrote it: the last turn's text ends the answer
    const chunks = events.filter((e) => e.$case === "artifactUpdate").map((e) => e.value)
    expect(chunks.length).toBeGreaterThan(0)
    expect(chunks.every((c) => c.taskId === events[0]!.value.id && c.artifact.artifactId === "reply")).toBe(true)
    expect(chunks.map((c) => c.append)).toEqual(chunks.map((_, i) => i > 0))
    const streamed = chunks.map((c) => c.artifact.parts.map((p: any) => p.content.value).join("")).join("")
    expect(streamed.length).toBeGreaterThan(0)
    expect(answer.endsWith(streamed) || streamed.endsWith(answer) || streamed.includes(answer)).toBe(true)
    // the turn reached acme's counter through the same actor a later message continues
    expect(((await (await s.call(s.tokens.acme, "POST", "/v1/agents/counter/x2/Get")).json()) as any).value.total).toBe(3)
  })

  it("gateway a2a - a streamed turn that cannot be asked closes its task failed, with the envelope's code; a context that names no actor fails it too", async () => {
    const client = await factory(s.tokens.acme).createFromUrl(`${s.listener.url}/v1/a2a/assistant/`)
    const stream = async (contextId: string, text: string) => {
      const events: Array<{ $case: string; value: any }> = []
      for await (const e of client.sendMessageStream({ tenant: "", message: userMessage(contextId, text), configuration: undefined, metadata: undefined } as never)) events.push(e.payload as never)
      return events
    }
    const textOf = (status: any) => status.message.parts.map((p: any) => p.content.value).join("")
    // over the server's max_payload (1 MiB): refused before it is sent
    const big = await stream("conv-big", "x".repeat(1_100_000))
    expect(big[0]!.$case).toBe("task")
    const failed = big.at(-1)!.value
    expect(failed.status.state).toBe(TaskState.TASK_STATE_FAILED)
    expect(failed.metadata).toEqual({ code: "too_large" })
    expect(textOf(failed.status)).toMatch(/^too_large: .*max_payload/)
    expect(big.some((e) => e.$case === "artifactUpdate")).toBe(false)
    const bad = await stream("bad.context", "hi")
    expect(bad.at(-1)!.value.status.state).toBe(TaskState.TASK_STATE_FAILED)
    expect(textOf(bad.at(-1)!.value.status)).toMatch(/^invalid_request: contextId "bad.context" cannot name an actor/)
    expect(bad.at(-1)!.value.metadata).toEqual({ code: "invalid_request" })
  })

  it("gateway a2a - the card and the endpoint need a token, and only conversational types speak A2A", async () => {
    expect((await fetch(`${s.listener.url}/v1/a2a/assistant/.well-known/agent-card.json`)).status).toBe(401)
    expect((await fetch(`${s.listener.url}/v1/a2a/assistant`, { method: "POST", body: "{}" })).status).toBe(401)
    expect((await s.call(s.tokens.acme, "GET", "/v1/a2a/counter/.well-known/agent-card.json")).status).toBe(404)
  })
})
