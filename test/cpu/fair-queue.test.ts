import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { FairQueue } from "../../runtime/cpu/fair-queue.ts"

describe("FairQueue", () => {
  it("fair queue - a flooding tenant gets one turn per round, so another tenant's item comes out second", () => {
    const q = new FairQueue<string>()
    for (let i = 0; i < 1000; i++) q.push("a", "a1", `a${i}`)
    q.push("b", "b1", "b0")
    const first = [q.shift(), q.shift(), q.shift()]
    expect(first).toEqual(["a0", "b0", "a1"])
    expect(q.size).toBe(998)
  })

  it("fair queue - actors of one tenant take turns and each actor keeps its order", () => {
    const q = new FairQueue<string>()
    for (let i = 0; i < 5; i++) q.push("t", "x", `x${i}`)
    q.push("t", "y", "y0")
    q.push("t", "y", "y1")
    expect(q.clear().length).toBe(7)
    for (let i = 0; i < 5; i++) q.push("t", "x", `x${i}`)
    q.push("t", "y", "y0")
    q.push("t", "y", "y1")
    const out: string[] = []
    for (let v = q.shift(); v !== undefined; v = q.shift()) out.push(v)
    expect(out).toEqual(["x0", "y0", "x1", "y1", "x2", "x3", "x4"])
  })

  it("fair queue - costs share a turn by deficit: a tenant of large items gets its bytes, not more items", () => {
    const q = new FairQueue<string>({ quantum: 100 })
    for (let i = 0; i < 10; i++) q.push("big", "b", `big${i}`, 100)
    for (let i = 0; i < 10; i++) q.push("small", "s", `small${i}`, 10)
    const out: string[] = []
    for (let i = 0; i < 12; i++) out.push(q.shift()!)
    expect(out.filter((x) => x.startsWith("big")).length).toBe(2)
    expect(out.filter((x) => x.startsWith("small")).length).toBe(10)
  })

  it("fair queue - a tenant over its bound is refused while others are not", () => {
    const q = new FairQueue<number>({ maxTenantCost: 3 })
    expect([1, 2, 3, 4].map((i) => q.push("a", "x", i))).toEqual([true, true, true, false])
    expect(q.push("b", "y", 9)).toBe(true)
    expect(q.queued("a")).toBe(3)
    expect(q.clear("a")).toEqual([1, 2, 3])
    expect(q.size).toBe(1)
  })

  it("fair queue - every item pushed comes out exactly once, each flow in its order (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ tenant: fc.constantFrom("a", "b", "c"), flow: fc.constantFrom("1", "2", "3"), cost: fc.integer({ min: 1, max: 5 }) }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.boolean(), { maxLength: 400 }),
        (pushes, quantum, interleave) => {
          const q = new FairQueue<{ tenant: string; flow: string; n: number }>({ quantum })
          const out: Array<{ tenant: string; flow: string; n: number }> = []
          let k = 0
          pushes.forEach((p, n) => {
            q.push(p.tenant, p.flow, { tenant: p.tenant, flow: p.flow, n }, p.cost)
            if (interleave[k++]) {
              const x = q.shift()
              if (x) out.push(x)
            }
          })
          for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x)
          expect(out.length).toBe(pushes.length)
          expect(q.size).toBe(0)
          expect(q.cost).toBe(0)
          const last = new Map<string, number>()
          for (const x of out) {
            const key = `${x.tenant}/${x.flow}`
            expect(x.n).toBeGreaterThan(last.get(key) ?? -1)
            last.set(key, x.n)
          }
        },
      ),
    )
  })
})
