/**
 * `ants gateway` and `ants schema` as printed in their help and the README: the gateway runs as
 * its own process (a server, until SIGINT), makes an operator token for the run when given no
 * tokens file, and serves asks to a real node; `ants schema` prints a type's JSON Schemas.
 */
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { agents } from "../../actors/examples/index.ts"
import { main } from "../../runtime/cli/main.ts"
import { GATEWAY, SCHEMA } from "../../runtime/cli/commands.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { shellWords } from "../cli/shell-words.ts"

const ROOT = new URL("../../", import.meta.url).pathname
const BIN = join(ROOT, "runtime/cli/bin.mjs")

let server: NatsServer
let node: AntsNode
beforeAll(async () => {
  server = await natsFixture()
  node = await startNode({ agents, nats: server.url, memory: false, logger: () => {} })
}, 60_000)
afterAll(async () => {
  await node?.drain()
  await server?.stop()
})

const argvOf = (line: string) => shellWords(line).slice(2)

describe("gateway cli", () => {
  it("gateway cli - each `ants gateway` example starts, serves asks with the token it printed, and stops on SIGINT", async () => {
    for (const line of GATEWAY.examples) {
      const proc = spawn(process.execPath, [BIN, ...argvOf(line)], { cwd: ROOT, env: { ...process.env, NATS_URL: server.url } })
      let stderr = ""
      proc.stderr.on("data", (d) => (stderr += d))
      const exited = new Promise<number | null>((r) => proc.on("exit", (c) => r(c)))
      const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
        const rl = createInterface({ input: proc.stdout })
        let url = ""
        rl.on("line", (l) => {
          const u = / ready on (http:\/\/\S+)/.exec(l)
          if (u) url = u[1]!
          const t = /token \(operator, this run only\): (\S+)/.exec(l)
          if (t) resolve({ url, token: t[1]! })
        })
        void exited.then((c) => reject(new Error(`${line}: exited ${c} before it was ready: ${stderr}`)))
      })
      const ask = await fetch(`${ready.url}/v1/agents/echo/e1/Say`, { method: "POST", headers: { authorization: `Bearer ${ready.token}` }, body: JSON.stringify({ text: "hi" }) })
      expect(await ask.json(), line).toEqual({ ok: true, value: { text: "hi" } })
      expect((await fetch(`${ready.url}/v1/types`)).status, line).toBe(401)
      const types = (await (await fetch(`${ready.url}/v1/types`, { headers: { authorization: `Bearer ${ready.token}` } })).json()) as { value: { types: Array<{ type: string }> } }
      expect(types.value.types.map((t) => t.type), line).toContain("counter")
      proc.kill("SIGINT")
      expect(await exited, `${line}: ${stderr}`).toBe(0)
    }
  }, 120_000)

  it("gateway cli - `ants schema` prints the JSON Schemas of a type's messages and replies", async () => {
    const out: string[] = []
    const err: string[] = []
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) }
    expect(await main(argvOf(SCHEMA.examples[0]!), io), err.join("\n")).toBe(0)
    const counter = JSON.parse(out.join("\n"))
    expect(counter.type).toBe("counter")
    expect(Object.keys(counter.tags)).toEqual(["Add", "Get", "Fail"])
    expect(counter.tags.Add.message).toMatchObject({ type: "object", required: ["n"] })
    expect(counter.tags.Get.reply).toMatchObject({ properties: { total: { type: "number" } } })
    out.length = 0
    expect(await main(argvOf(SCHEMA.examples[1]!), io)).toBe(0)
    const chat = JSON.parse(out.join(""))
    expect(Object.keys(chat.tags)).toEqual(["Chat"])
    expect(chat.tags.Chat.message.required).toEqual(["text"])
    expect(await main(["schema", "nope", "--agents", "./actors/examples/index.ts"], io)).toBe(1)
    expect(err.join("\n")).toMatch(/no agent type "nope".*counter/)
  })
})
