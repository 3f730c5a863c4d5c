/**
 * `ants turn list|show|replay` over a real nats-server: a turn of the example assistant is
 * journaled in KV, then listed, shown, and replayed against the same code (no divergence,
 * exit 0) and against changed code (divergences named, exit 1), with no model called.
 */
import { Kvm } from "@nats-io/kv"
import type { NatsConnection } from "@nats-io/nats-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { assistant } from "../../actors/examples/assistant.ts"
import { turnCommand } from "../../runtime/cli/turn-command.ts"
import { TURN_SPEC_EXTENSION } from "../../runtime/agent/conversational-agent.ts"
import { createModels, kvTurnJournal, type TurnSpec } from "../../runtime/models/mod.ts"
import { TURNS_BUCKET } from "../../subjects/models.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"

const EXAMPLE = new URL("../../actors/examples/assistant.ts", import.meta.url).pathname
const CHANGED = new URL("./fixtures/assistant-v2.ts", import.meta.url).pathname

describe("ants turn", () => {
  let server: NatsServer
  let nc: NatsConnection
  const out: string[] = []
  const io = () => ({
    nc,
    json: false,
    out: (s: string) => void out.push(s),
    loadAgents: async (m: string) => Object.values((await import(m)) as Record<string, { type: string; extensions: Record<string, unknown> }>).filter((v) => v && typeof v === "object" && "extensions" in v),
  })

  beforeAll(async () => {
    server = await natsFixture()
    nc = await rawConnect(server.url)
    const journal = kvTurnJournal(await new Kvm(nc).create(TURNS_BUCKET, { history: 1 }))
    const models = createModels({ env: {}, journal })
    const spec = assistant.extensions[TURN_SPEC_EXTENSION] as TurnSpec
    // The counter is asked through the port; here it answers as the counter actor would.
    await models.client({ tenant: "default", type: "assistant", id: "a1" }, async () => ({ total: 5 })).turn("counter_add id=c7 n=5", { ...spec, turn: "t0" })
  })
  afterAll(async () => {
    await nc?.close()
    await server?.stop()
  })

  it("turn command - list and show print the journaled turn", async () => {
    out.length = 0
    expect(await turnCommand(["list"], io())).toBe(0)
    expect(out.join("\n")).toMatch(/^assistant\/a1\/t0 {2}done/)
    out.length = 0
    expect(await turnCommand(["show", "assistant/a1/t0"], io())).toBe(0)
    const text = out.join("\n")
    expect(text).toMatch(/calls counter_add\(\{"id":"c7","n":5\}\)/)
    expect(text).toMatch(/tool counter_add -> \{"total":5\}/)
    expect(text).toMatch(/answer "counter_add returned \{\\"total\\":5\}"/)
    out.length = 0
    expect(await turnCommand(["show", "assistant/a1/t9"], io())).toBe(1)
    expect(await turnCommand(["show", "nonsense"], io())).toBe(2)
  })

  it("turn command - replay against the same code finds no divergence; changed code is reported", async () => {
    out.length = 0
    expect(await turnCommand(["replay", "assistant/a1/t0", "--agents", EXAMPLE], io())).toBe(0)
    expect(out.join("\n")).toMatch(/no divergence/)
    out.length = 0
    expect(await turnCommand(["replay", "assistant/a1/t0", "--agents", CHANGED], io())).toBe(1)
    const text = out.join("\n")
    expect(text).toMatch(/step 0: request: tools removed: counter_get/)
    expect(text).toMatch(/divergence\(s\)/)
  })
})
