/**
 * Agent types whose handlers run in the sandbox, hosted by a real node on a real nats-server: a
 * handler that loops is stopped at its CPU limit and its message answers an error naming the
 * limit, while other actors of the node (sandboxed or not) go on answering; the actor keeps its
 * state and answers its next message; tenants do not see each other's isolates.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { defineSandboxedAgent } from "../../runtime/agent/sandboxed-agent.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

const COUNTER_SOURCE = `
export async function Add({ message, state }) {
  const total = (state?.total ?? 0) + message.n
  return { reply: { total }, state: { total } }
}
export async function Get({ state }) {
  return { reply: { total: state?.total ?? 0 } }
}
export async function Spin() {
  for (;;) {}
}
export async function Stash({ message, self }) {
  if (message.value !== null) globalThis.stash = message.value
  return { reply: { seen: globalThis.stash ?? null, tenant: self.tenant } }
}
export async function Wrong() {
  return 42
}
`

const Total = Schema.Struct({ total: Schema.Number })
const counter = defineSandboxedAgent({
  type: "sandboxed-counter",
  protocol: {
    Add: { message: Schema.Struct({ n: Schema.Number }), reply: Total },
    Get: { message: Empty, reply: Total },
    Spin: { message: Empty, reply: Empty },
    Stash: { message: Schema.Struct({ value: Schema.NullOr(Schema.String) }), reply: Schema.Struct({ seen: Schema.NullOr(Schema.String), tenant: Schema.String }) },
    Wrong: { message: Empty, reply: Empty },
  },
  source: COUNTER_SOURCE,
  // long enough that the other actors' answers come back while Spin still computes
  // and a wall limit far above it, so a loaded machine's slow CPU still ends in cpu_limit
  limits: { cpuMs: 1_000, wallMs: 60_000 },
})

const trusted = defineAgent({
  type: "trusted-echo",
  protocol: { Say: { message: Schema.Struct({ text: Schema.String }), reply: Schema.Struct({ text: Schema.String }) } },
  checkpoint: "never",
  handlers: { Say: ({ text }) => ({ text }) },
})

let server: NatsServer
let node: AntsNode

beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({ agents: [counter, trusted], nats: server.url, logger: () => {}, memory: false, models: false })
})

afterAll(async () => {
  await node?.stop()
  await server?.stop()
})

async function askError(p: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  try {
    const v = await p
    return { code: "no error", message: JSON.stringify(v) }
  } catch (e) {
    return e as { code?: string; message?: string }
  }
}

describe("sandboxed agents", { timeout: 180_000 }, () => {
  it("sandboxed agent - handlers run in the sandbox and keep the actor's state", async () => {
    const a = node.client.ref(counter, "a")
    expect(await a.ask("Add", { n: 2 }, { timeoutMs: 90_000 })).toEqual({ total: 2 })
    expect(await a.ask("Add", { n: 3 }, { timeoutMs: 90_000 })).toEqual({ total: 5 })
    expect(await a.ask("Get", {}, { timeoutMs: 90_000 })).toEqual({ total: 5 })
  })

  it("sandboxed agent - a CPU loop is stopped at its limit while other actors answer, and the actor goes on", async () => {
    const a = node.client.ref(counter, "a")
    let spun = false
    const spinning = askError(a.ask("Spin", {}, { timeoutMs: 90_000 })).finally(() => (spun = true))
    // while it spins: a trusted actor and another sandboxed actor of the node answer
    const [echoed, other] = await Promise.all([
      node.client.ref(trusted, "e").ask("Say", { text: "still here" }, { timeoutMs: 90_000 }),
      node.client.ref(counter, "b").ask("Add", { n: 7 }, { timeoutMs: 90_000 }),
    ])
    expect(echoed).toEqual({ text: "still here" })
    expect(other).toEqual({ total: 7 })
    expect(spun).toBe(false)
    const e = await spinning
    expect(e.code).toBe("handler_failed")
    expect(e.message).toMatch(/sandbox cpu_limit/)
    // the actor resumed with its state as it was
    expect(await a.ask("Get", {}, { timeoutMs: 90_000 })).toEqual({ total: 5 })
    expect(await a.ask("Add", { n: 1 }, { timeoutMs: 90_000 })).toEqual({ total: 6 })
  })

  it("sandboxed agent - a handler returning the wrong shape fails its message with a clear error", async () => {
    const e = await askError(node.client.ref(counter, "w").ask("Wrong", {}, { timeoutMs: 90_000 }))
    expect(e.code).toBe("handler_failed")
    expect(e.message).toMatch(/returns \{ reply, state\? \}/)
  })

  it("sandboxed agent - tenants never share an isolate: one tenant's globals are invisible to another's", async () => {
    const ask = (tenant: string, value: string | null) => node.client.ask({ agent: "sandboxed-counter", id: "s", tenant }, "Stash", { value }, { timeoutMs: 90_000 })
    expect(await ask("tenant-one", "secret-of-one")).toEqual({ seen: "secret-of-one", tenant: "tenant-one" })
    expect(await ask("tenant-two", null)).toEqual({ seen: null, tenant: "tenant-two" })
    expect(await ask("tenant-one", null)).toEqual({ seen: "secret-of-one", tenant: "tenant-one" })
  })

  it("sandboxed agent - a definition is checked when defined", () => {
    const protocol = { Ping: { message: Empty, reply: Empty } }
    expect(() => defineSandboxedAgent({ type: "bad", protocol, source: "export async function Pong() {}" })).toThrow(/exports no handler for tag "Ping"/)
    expect(() => defineSandboxedAgent({ type: "bad", protocol, source: "export async function Ping() {}", level: "root" as never })).toThrow(/level must be one of/)
    expect(() => defineSandboxedAgent({ type: "bad", protocol, source: "export async function Ping() {}", limits: { wallMs: -1 } })).toThrow(/limits.wallMs/)
    expect(() => defineSandboxedAgent({ type: "bad", protocol, source: "export async function Ping() {}", fetchAllow: ["not a url"] })).toThrow(/fetchAllow/)
    const ok = defineSandboxedAgent({ type: "ok", protocol, source: "export async function Ping() { return { reply: {} } }", level: "moderate" })
    expect(ok.extensions.sandboxed).toMatchObject({ level: "moderate", limits: { wallMs: 60_000 } })
    expect(ok.handlerTimeoutMs).toBe(65_000)
  })
})
