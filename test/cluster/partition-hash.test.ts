import { describe, expect, it } from "vitest"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const nats = natsPerFile()

describe("partition hash", () => {
  it("partition hash - matches the server's {{partition(64,2,3)}} mapping for every id", async () => {
    const seen: Array<{ p: number; type: string; id: string }> = []
    const sub = nats.nc.subscribe("ants._part.>", {
      callback: (_e, m) => {
        const t = m.subject.split(".")
        seen.push({ p: Number(t[2]), type: t[4], id: t[5] })
      },
    })
    await nats.nc.flush()
    const ids = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? `id-${i}` : i % 3 === 1 ? `ÄÖ${i}`.replace(/[^A-Za-z0-9]/g, "x") + i : `a_b-${i * 7919}`))
    for (const id of ids) nats.nc.publish(`ants.default.agent.${id.length % 2 ? "counter" : "echo"}.${id}.Tag`)
    await waitUntil(() => seen.length === ids.length)
    sub.unsubscribe()
    for (const s of seen) expect(partitionOf(s.type, s.id)).toBe(s.p)
    expect(new Set(seen.map((s) => s.p)).size).toBeGreaterThan(50)
  })
})
