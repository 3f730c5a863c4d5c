import { afterAll, describe, expect, it } from "vitest"
import { isMemoryError, memoryOnDemand, openMemory, type MemoryOptions } from "../../runtime/memory/mod.ts"
import { dropSchema, freshSchema, postgresReachable, TEST_POSTGRES_URL } from "../helpers/postgres.ts"

const skip = await postgresReachable()
if (skip !== undefined) console.warn(skip)

describe.skipIf(skip !== undefined)("memory on demand", () => {
  const schema = freshSchema()
  afterAll(async () => {
    await dropSchema(schema)
  })

  it("node memory - opens at the first call, retries after a failed opening, refuses calls once closed", async () => {
    let attempts = 0
    const options: MemoryOptions = { postgres: TEST_POSTGRES_URL, schema, sweepIntervalMs: 0, env: {} }
    const node = memoryOnDemand(options, async (o) => {
      attempts++
      // the first opening goes to a port where nothing listens
      return await openMemory(attempts === 1 ? { ...o, postgres: "postgres://postgres@127.0.0.1:1/test" } : o)
    })
    expect(node.current).toBeUndefined()
    expect(attempts).toBe(0)
    const me = node.forActor({ tenant: "acme", type: "notebook", id: "n1" })
    const first = await me.remember({ kind: "semantic", text: "not stored" }).catch((e: unknown) => e)
    expect(isMemoryError(first, "unavailable")).toBe(true)
    const item = await me.remember({ kind: "semantic", text: "stored at the second opening" })
    const [found] = await me.recall("second opening")
    expect(found?.id).toBe(item.id)
    expect(attempts).toBe(2)
    expect(node.current?.schema).toBe(schema)
    await node.close()
    const late = await me.recall("anything").catch((e: unknown) => e)
    expect(isMemoryError(late, "unavailable")).toBe(true)
    expect((late as Error).message).toMatch(/closed/)
  })

  it("node memory - disabled memory says so", async () => {
    const node = memoryOnDemand(false)
    const e = await node.forActor({ tenant: "a", type: "b", id: "c" }).recall("x").catch((err: unknown) => err)
    expect(isMemoryError(e, "unavailable")).toBe(true)
    expect((e as Error).message).toMatch(/disabled/)
  })
})
