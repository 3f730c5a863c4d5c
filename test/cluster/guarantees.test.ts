import { describe, expect, it } from "vitest"
import { clusterGuarantees } from "../../runtime/cluster/guarantees.ts"

describe("cluster guarantees", () => {
  it("guarantees - nats-server 2.9.10 with R3 on a cluster: compare-and-set not serialized, a warning", () => {
    const g = clusterGuarantees({ version: "2.9.10", clustered: true, replicas: 3 })
    expect(g.casSerialized).toBe(false)
    expect(g.survivesServerLoss).toBe(true)
    expect(g.warnings.join(" ")).toContain("does not serialize KV compare-and-set")
  })

  it("guarantees - 2.10 and newer are relied on; a single server is exact", () => {
    expect(clusterGuarantees({ version: "2.10.0", clustered: true, replicas: 3 })).toMatchObject({ casSerialized: true, warnings: [] })
    expect(clusterGuarantees({ version: "2.9.10", clustered: false, replicas: 1 })).toMatchObject({ casSerialized: true, survivesServerLoss: false, warnings: [] })
  })

  it("guarantees - R1 on a cluster warns that the runtime's state does not survive a server", () => {
    const g = clusterGuarantees({ version: "2.11.1", clustered: true, replicas: 1 })
    expect(g.casSerialized).toBe(true)
    expect(g.warnings.join(" ")).toContain("R1")
  })
})
