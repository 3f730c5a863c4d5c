/**
 * A durable turn across kill -9: two `ants node` processes (the example agents, a models file
 * naming a local fake Chat Completions server) on one nats-server. The assistant's turn calls
 * the counter tool, then the node running it is killed while the second model call is in
 * flight. The caller asks again; the actor's new owner resumes the turn from the journal: the
 * fake server counts one first model call, the counter counts one tool call.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Kvm } from "@nats-io/kv"
import type { NatsConnection } from "@nats-io/nats-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { listActors } from "../../runtime/cluster/inspect-client.ts"
import { decodeReply } from "../../subjects/envelope.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { STATE_BUCKET, stateKey } from "../../subjects/kv.ts"
import { startFakeOpenAI } from "../../bench/fakes/fake-openai.ts"
import type { FakeServer } from "../../bench/fakes/fake-model-server.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const BIN = new URL("../../runtime/cli/bin.mjs", import.meta.url).pathname
const EXAMPLES = new URL("../../actors/examples/index.ts", import.meta.url).pathname

describe("turn failover", () => {
  let server: NatsServer
  let nc: NatsConnection
  let oai: FakeServer
  const children = new Map<string, ChildProcess>()
  let modelsFile: string

  function startNodeProcess(id: string): Promise<ChildProcess> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [BIN, "node", "--agents", EXAMPLES, "--nats", server.url, "--node-id", id, "--models", modelsFile, "--no-memory"], { stdio: ["ignore", "pipe", "pipe"] })
      children.set(id, p)
      let out = ""
      p.stdout!.on("data", (b: Buffer) => {
        out += b.toString()
        if (out.includes(" ready on ")) resolve(p)
      })
      p.stderr!.on("data", (b: Buffer) => (out += b.toString()))
      p.on("exit", (c, s) => reject(new Error(`node ${id} exited (${c ?? s}) before it was ready:\n${out}`)))
    })
  }

  beforeAll(async () => {
    server = await natsFixture()
    nc = await rawConnect(server.url)
    oai = await startFakeOpenAI()
    modelsFile = join(mkdtempSync(join(tmpdir(), "ants-models-")), "models.json")
    writeFileSync(modelsFile, JSON.stringify({ providers: { fake: { kind: "openai", baseURL: `${oai.url}/v1` } }, models: [{ name: "fake-model", provider: "fake", price: { input: 1, output: 2 } }] }))
  })
  afterAll(async () => {
    for (const p of children.values()) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL")
    await oai?.close()
    await nc?.close()
    await server?.stop()
  })

  it("turn failover - after kill -9 mid-turn the new owner resumes without repeating a completed model or tool call", async () => {
    let release: (() => void) | undefined
    let held = 0
    oai.respond(async (req) => {
      const last = req.body.messages.at(-1)
      if (last.role === "user") return { toolCalls: [{ id: "call_k1", name: "counter_add", arguments: { id: "k1", n: 4 } }] }
      if (held++ === 0) await new Promise<void>((r) => (release = r)) // the first answer never comes: its node dies
      return { text: "k1 is at 4" }
    })
    await Promise.all([startNodeProcess("tf-a"), startNodeProcess("tf-b")])
    const userCalls = () => oai.requests.filter((r) => r.body.messages.at(-1).role === "user").length
    const resultCalls = () => oai.requests.filter((r) => r.body.messages.at(-1).role === "tool").length

    // The caller asks until it gets an answer, as a client of a dying node would.
    const subject = agentSubject({ tenant: "default", type: "assistant", id: "tf1", tag: "Chat" })
    const caller = (async () => {
      for (let i = 0; i < 30; i++) {
        try {
          const env = decodeReply((await nc.request(subject, JSON.stringify({ text: "add 4 to k1" }), { timeout: 3000 })).data)
          if (env.ok) return env
        } catch {
          // timeout or no responders while the swarm rebalances: ask again
        }
        await new Promise((r) => setTimeout(r, 200))
      }
      throw new Error("no answer after 30 asks")
    })()

    await waitUntil(() => held === 1, { timeoutMs: 30_000, message: "the second model call reached the fake server" })
    // the counter's Add was answered before the step was recorded; wait for its checkpoint too
    const state = await new Kvm(nc).open(STATE_BUCKET)
    await waitUntil(async () => (await state.get(stateKey({ tenant: "default", type: "counter", id: "k1" })))?.json<{ state: { total: number } }>()?.state.total === 4)
    const holder = (await listActors(nc, { type: "assistant", timeoutMs: 1000 })).actors.find((a) => a.id === "tf1")!.node
    const victim = children.get(holder)!
    victim.kill("SIGKILL")
    await new Promise((r) => victim.once("exit", r))
    release?.()

    const env = await caller
    expect(env).toEqual({ ok: true, value: { text: "k1 is at 4", turn: "t0", offline: false } })
    expect(userCalls()).toBe(1) // the completed first model call was not repeated
    expect(resultCalls()).toBe(2) // the interrupted one was asked again, once
    const total = decodeReply((await nc.request(agentSubject({ tenant: "default", type: "counter", id: "k1", tag: "Get" }), "{}", { timeout: 5000 })).data)
    expect(total).toEqual({ ok: true, value: { total: 4 } }) // the completed tool call was not repeated
  })
})
