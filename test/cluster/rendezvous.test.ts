import { describe, expect, it } from "vitest"
import { assignPartitions, ownerOf, partitionsOf } from "../../runtime/cluster/rendezvous.ts"
import { PARTITIONS } from "../../subjects/grammar.ts"

const nodes = (n: number, prefix = "node") => Array.from({ length: n }, (_, i) => `${prefix}-${i}-${(i * 2654435761) >>> 0}`)

describe("rendezvous", () => {
  it("rendezvous - is deterministic and independent of member order", () => {
    const m = nodes(5)
    const a = assignPartitions(m)
    expect(assignPartitions([...m].reverse())).toEqual(a)
    expect(assignPartitions([m[3], m[0], m[4], m[1], m[2]])).toEqual(a)
    expect(a).toHaveLength(PARTITIONS)
    expect(a.every((o) => o !== undefined && m.includes(o))).toBe(true)
  })

  it("rendezvous - no members, no owners; one member owns everything", () => {
    expect(assignPartitions([]).every((o) => o === undefined)).toBe(true)
    expect(ownerOf(3, [])).toBeUndefined()
    expect(partitionsOf(assignPartitions(["solo"]), "solo")).toHaveLength(PARTITIONS)
  })

  it("rendezvous - is balanced: every member gets a fair share", () => {
    for (const n of [2, 3, 4, 5, 8]) {
      const m = nodes(n, `b${n}`)
      const a = assignPartitions(m)
      const fair = PARTITIONS / n
      for (const node of m) {
        const share = partitionsOf(a, node).length
        expect(share).toBeGreaterThanOrEqual(Math.floor(fair * 0.4))
        expect(share).toBeLessThanOrEqual(Math.ceil(fair * 1.7))
      }
    }
    // over many random member sets the average share is fair within a few percent
    let max = 0
    const trials = 200
    for (let t = 0; t < trials; t++) {
      const m = nodes(4, `t${t}`)
      const a = assignPartitions(m)
      max += Math.max(...m.map((x) => partitionsOf(a, x).length))
    }
    expect(max / trials).toBeLessThan((PARTITIONS / 4) * 1.6)
  })

  it("rendezvous - a join moves only partitions to the new member", () => {
    const m = nodes(3)
    const before = assignPartitions(m)
    const after = assignPartitions([...m, "newcomer"])
    let moved = 0
    before.forEach((o, p) => {
      if (after[p] !== o) {
        moved++
        expect(after[p]).toBe("newcomer")
      }
    })
    expect(moved).toBe(partitionsOf(after, "newcomer").length)
    expect(moved).toBeGreaterThan(0)
    expect(moved).toBeLessThan(PARTITIONS / 2)
  })

  it("rendezvous - a leave moves only the leaver's partitions", () => {
    const m = nodes(4)
    const before = assignPartitions(m)
    const after = assignPartitions(m.filter((x) => x !== m[1]))
    before.forEach((o, p) => {
      if (o !== m[1]) expect(after[p]).toBe(o)
      else expect(after[p]).not.toBe(m[1])
    })
  })
})
