import { spawn, type ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import pg from "pg"
import { afterAll, describe, expect, it } from "vitest"
import { openMemory } from "../../runtime/memory/mod.ts"
import { dropSchema, freshSchema, pgliteDataDir, postgresReachable, tempDataDir, TEST_POSTGRES_URL } from "../helpers/postgres.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const WRITER = join(import.meta.dirname, "fixtures", "writer.ts")
const postgresSkip = await postgresReachable()
if (postgresSkip !== undefined) console.warn(postgresSkip)

interface Writer {
  readonly child: ChildProcess
  readonly acks: Map<number, string>
  ready: string | undefined
  readonly exited: Promise<void>
}

function startWriter(options: object): Writer {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] })
  const w: Writer = { child, acks: new Map(), ready: undefined, exited: new Promise((r) => child.once("exit", () => r())) }
  let buffer = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8")
    let nl: number
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      const [word, a, b] = line.split(" ")
      if (word === "ready") w.ready = `${a} ${b}`
      if (word === "ack") w.acks.set(Number(a), b!)
    }
  })
  return w
}

async function storedIds(url: string, schema: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const rows = (await client.query<{ id: string }>(`SELECT id FROM ${pg.escapeIdentifier(schema)}.memories WHERE tenant = 'durable'`)).rows
    return new Set(rows.map((r) => r.id))
  } finally {
    await client.end()
  }
}

async function killWhileWriting(w: Writer, acks: number): Promise<Map<number, string>> {
  await waitUntil(() => w.acks.size >= acks, { timeoutMs: 120_000, message: `${acks} acknowledged writes` })
  w.child.kill("SIGKILL")
  await w.exited
  return new Map(w.acks)
}

// PGlite's first start creates its cluster: tens of seconds on a loaded machine, hence the timeouts
describe("memory durability", () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
  })

  it("embedded - a new data directory is created, and survives a restart", async () => {
    const data = tempDataDir()
    cleanups.push(() => data.remove())
    const first = await openMemory({ dataDir: data.dir, sweepIntervalMs: 0, env: {} })
    expect(first.embedded?.owner).toBe(true)
    const item = await first.forActor({ tenant: "acme", type: "notebook", id: "n1" }).remember({ kind: "semantic", text: "The boiler was serviced in March." })
    await first.close()
    expect(existsSync(join(data.dir, "server.json"))).toBe(false)

    const second = await openMemory({ dataDir: data.dir, sweepIntervalMs: 0, env: {} })
    cleanups.push(() => second.close())
    expect(second.embedded?.owner).toBe(true)
    const [found] = await second.forActor({ tenant: "acme", type: "notebook", id: "n1" }).recall("when was the boiler serviced")
    expect(found?.id).toBe(item.id)
    await second.close()
  }, 240_000)

  it("embedded - kill -9 of the process serving the data directory loses no acknowledged memory; another process shares it meanwhile", async () => {
    const data = await pgliteDataDir()
    cleanups.push(() => data.remove())
    const schema = freshSchema("durable")
    const writer = startWriter({ dataDir: data.dir, schema })
    await waitUntil(() => writer.ready, { timeoutMs: 120_000, message: "the writer opened the data directory" })
    expect(writer.ready).toBe("pglite owner")
    // a second store on this machine, pointed at the same directory, goes through the writer's socket
    const shared = await openMemory({ dataDir: data.dir, schema, sweepIntervalMs: 0, env: {} })
    expect(shared.embedded?.owner).toBe(false)
    await waitUntil(async () => (await shared.stats("durable")).total >= 5, { timeoutMs: 60_000, message: "the writer's entries seen through its socket" })
    await shared.close()

    const acked = await killWhileWriting(writer, 40)
    const reopened = await openMemory({ dataDir: data.dir, schema, sweepIntervalMs: 0, env: {} })
    cleanups.push(() => reopened.close())
    expect(reopened.embedded?.owner).toBe(true)
    const ids = await storedIds(reopened.embedded!.url, schema)
    const lost = [...acked.values()].filter((id) => !ids.has(id))
    expect(lost).toEqual([])
    expect(ids.size).toBeGreaterThanOrEqual(acked.size)
    await reopened.close()
  }, 240_000)

  it.skipIf(postgresSkip !== undefined)("postgres - kill -9 of a writing process loses no acknowledged memory", async () => {
    const schema = freshSchema("durable")
    cleanups.push(() => dropSchema(schema))
    const writer = startWriter({ postgres: TEST_POSTGRES_URL, schema })
    const acked = await killWhileWriting(writer, 200)
    const ids = await storedIds(TEST_POSTGRES_URL, schema)
    expect([...acked.values()].filter((id) => !ids.has(id))).toEqual([])
  }, 120_000)
})
