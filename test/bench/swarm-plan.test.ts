/** The swarm scenario's split of auctions over locations and nodes (pure). */
import { describe, expect, it } from "vitest"
import { AUCTIONS_PER_AGENT, zonePlan } from "../../bench/scenarios/swarm.ts"

describe("bench swarm plan", () => {
  it("zonePlan - each node runs AUCTIONS_PER_AGENT auctions at once per agent it has, over every location", () => {
    for (const [perNode, zones] of [
      [[8, 8, 8], 4],
      [[4, 4], 4],
      [[3, 2], 4],
      [[1, 1, 1, 1], 4],
      [[5], 3],
      [[2, 1], 3],
    ] as Array<[number[], number]>) {
      const plan = zonePlan(perNode, zones)
      expect(plan).toHaveLength(perNode.length)
      plan.forEach((node, k) => {
        expect(node.map((z) => z.capability)).toEqual(Array.from({ length: zones }, (_, z) => `bench.forage.z${z}`))
        expect(node.reduce((s, z) => s + z.concurrency, 0), `node ${k} of ${perNode}`).toBe(perNode[k] * AUCTIONS_PER_AGENT)
      })
      const total = perNode.reduce((s, a) => s + a, 0)
      if (total >= zones) {
        for (let z = 0; z < zones; z++) expect(plan.some((node) => node[z].concurrency > 0), `zone ${z} of ${perNode}`).toBe(true)
      }
    }
  })
})
