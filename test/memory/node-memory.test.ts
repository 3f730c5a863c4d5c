import { spawn, type ChildProcess } from "node:child_process"
import { join } from "node:path"
import pg from "pg"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { notebook } from "../../actors/examples/notebook.ts"
import { connectClient, isAskError } from "../../runtime/client/mod.ts"
import { openMemory, type MemoryOptions } from "../../runtime/memory/mod.ts"
import { startNode, type AntsNode } from "../../runtime/node/mod.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { dropSchema, freshSchema, pgliteDataDir, postgresReachable, TEST_POSTGRES_URL } from "../helpers/postgres.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const FIXTURE = join(import.meta.dirname, "fixtures", "memory-node.ts")
const postgresSkip = await postgresReachable()
if (postgresSkip !== undefined) console.warn(postgresSkip)

interface Backend {
  readonly name: string
  readonly skip: string | undefined
  /** Memory options for a node, on a fresh schema (PGlite: a fresh data directory). */
  options(): Promise<MemoryOptions>
  /** A raw URL to check what was stored (PGlite: read through a process that opens the directory). */
  cleanup(): Promise<void>
}

function backends(): Backend[] {
  const dirs: Array<{ remove(): void }> = []
  const schemas: string[] = []
  return [
    {
      name: "pglite",
      skip: undefined,
      async options() {
        const data = await pgliteDataDir()
        dirs.push(data)
        return { dataDir: data.dir, schema: freshSchema() }
      },
      async cleanup() {
        for (const d of dirs) d.remove()
      },
    },
    {
      name: "postgres",
      skip: postgresSkip,
      async options() {
        const schema = freshSchema()
        schemas.push(schema)
        return { postgres: TEST_POSTGRES_URL, schema }
      },
      async cleanup() {
        for (const s of schemas) await dropSchema(s)
      },
    },
  ]
}

let server: NatsServer
beforeAll(async () => {
  server = await natsFixture()
})
afterAll(async () => {
  await server?.stop()
})

for (const backend of backends()) {
  describe.skipIf(backend.skip !== undefined)(`ctx.memory on ${backend.name}`, () => {
    const nodes: AntsNode[] = []
    const children: ChildProcess[] = []
    // one node hosting notebook at a time: two would share its partitions, each with its own store
    afterEach(async () => {
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
      for (const n of nodes.splice(0)) await n.drain()
    })
    afterAll(async () => {
      await backend.cleanup()
    })
    const start = async (memory: MemoryOptions) => {
      const node = await startNode({ agents: [notebook], nats: server.url, memory: { sweepIntervalMs: 0, env: {}, ...memory } })
      nodes.push(node)
      // the embedded database takes seconds to open: opened here, so no ask waits for it
      await node.memory.open()
      return node
    }

    it("ctx.memory - a notebook recalls the right note among distractors, and tenants never see each other's notes", async () => {
      const node = await start(await backend.options())
      const acme = node.client.ref(notebook, "n1")
      for (const text of ["The printer on floor three is out of toner.", "Standup moved to 9:30 on Mondays.", "The staging database is rebuilt every Sunday night.", "Parking passes are at the front desk."]) {
        await acme.ask("Remember", { text })
      }
      const { id } = await acme.ask("Remember", { text: "The VPN certificate expires on the first of March." })
      expect(id).toMatch(/^[0-9a-f-]{36}$/)
      const { items } = await acme.ask("Recall", { query: "when does the VPN certificate expire", k: 2 })
      expect(items[0]?.text).toBe("The VPN certificate expires on the first of March.")
      expect(items[0]!.score).toBeGreaterThan(items[1]!.score)
      // the same type and id in another tenant is another actor with its own, empty memory
      const globex = node.client.ref(notebook, "n1", "globex")
      expect((await globex.ask("Recall", { query: "when does the VPN certificate expire", k: 5 })).items).toEqual([])
      expect(node.memory.current?.backend).toBe(backend.name)
    })

    it("ctx.memory - bad input fails the handler with the memory error and the actor goes on", async () => {
      const node = await start(await backend.options())
      const ref = node.client.ref(notebook, "n2")
      const e = await ref.ask("Remember", { text: "x".repeat(40_000) }).catch((err: unknown) => err)
      expect(isAskError(e)).toBe(true)
      expect((e as Error).message).toMatch(/limit is 32768 bytes/)
      await ref.ask("Remember", { text: "still working" })
      expect((await ref.ask("Recall", { query: "still working", k: 1 })).items[0]?.text).toBe("still working")
    })

    it("ctx.memory - kill -9 of the node process loses no acknowledged memory", async () => {
      const options = await backend.options()
      const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, server.url, JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] })
      children.push(child)
      let out = ""
      child.stdout!.on("data", (b: Buffer) => (out += b.toString()))
      await waitUntil(() => out.includes("ready") || child.exitCode !== null, { timeoutMs: 60_000, message: "the node process ready" })
      expect(out).toMatch(/ready/)
      const exited = new Promise((r) => child.once("exit", r))
      const client = await connectClient({ nats: server.url })
      const ref = client.ref(notebook, "durable")
      const acked: string[] = []
      let stop = false
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          try {
            // the first call opens the node's database: up to a minute on a busy machine
            acked.push((await ref.ask("Remember", { text: `entry ${i} of the journal` }, { timeoutMs: i === 0 ? 60_000 : 10_000 })).id)
          } catch {
            return // the node is gone: this write was never acknowledged
          }
        }
      })()
      await waitUntil(() => acked.length >= 25, { timeoutMs: 120_000, message: `25 acknowledged Remember (${acked.length} so far)` })
      child.kill("SIGKILL")
      await exited
      stop = true
      await writer
      await client.close()
      const memory = await openMemory({ ...options, sweepIntervalMs: 0, env: {} })
      try {
        const c = new pg.Client({ connectionString: memory.embedded?.url ?? TEST_POSTGRES_URL })
        await c.connect()
        const ids = new Set((await c.query<{ id: string }>(`SELECT id FROM ${pg.escapeIdentifier(memory.schema)}.memories`)).rows.map((r) => r.id))
        await c.end()
        expect(acked.filter((id) => !ids.has(id))).toEqual([])
      } finally {
        await memory.close()
      }
    }, 240_000)
  })
}

describe("ctx.memory embedded", () => {
  it("ctx.memory - the embedded data directory survives a node restart", async () => {
    const data = await pgliteDataDir()
    try {
      const first = await startNode({ agents: [notebook], nats: server.url, memory: { dataDir: data.dir, sweepIntervalMs: 0, env: {} } })
      await first.memory.open()
      await first.client.ref(notebook, "keeper").ask("Remember", { text: "The spare key is under the blue flowerpot." })
      await first.drain()
      const second = await startNode({ agents: [notebook], nats: server.url, memory: { dataDir: data.dir, sweepIntervalMs: 0, env: {} } })
      try {
        await second.memory.open()
        const { items } = await second.client.ref(notebook, "keeper").ask("Recall", { query: "where is the spare key", k: 1 })
        expect(items[0]?.text).toBe("The spare key is under the blue flowerpot.")
        expect(second.memory.current?.embedded?.owner).toBe(true)
      } finally {
        await second.drain()
      }
    } finally {
      data.remove()
    }
  }, 180_000)
})
