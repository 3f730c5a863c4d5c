import { describe, expect, it } from "vitest"
import { clusterGuarantees, clusterSizeOf, defaultReplicas } from "../../runtime/cluster/guarantees.ts"
import { runtimeStores } from "../../runtime/cluster/runtime-stores.ts"

describe("cluster guarantees", () => {
  it("guarantees - nats-server 2.9.10 with R3 on a cluster: compare-and-set not serialized, a warning", () => {
    const g = clusterGuarantees({ version: "2.9.10", clustered: true, replicas: 3 })
    expect(g.casSerialized).toBe(false)
    expect(g.survivesServerLoss).toBe(true)
    expect(g.warnings.join(" ")).toContain("does not serialize KV compare-and-set")
  })

  it("guarantees - 2.10 and newer are relied on; a single server is exact", () => {
    // (both versions also carry published vulnerabilities: those warnings are checked below)
    const notCve = (g: { warnings: ReadonlyArray<string> }) => g.warnings.filter((w) => !w.includes("CVE-"))
    const g10 = clusterGuarantees({ version: "2.10.0", clustered: true, replicas: 3 })
    expect(g10.casSerialized).toBe(true)
    expect(notCve(g10)).toEqual([])
    const g9 = clusterGuarantees({ version: "2.9.10", clustered: false, replicas: 1 })
    expect(g9).toMatchObject({ casSerialized: true, survivesServerLoss: false })
    expect(notCve(g9)).toEqual([])
  })

  it("guarantees - R1 on a cluster warns that the runtime's state does not survive a server", () => {
    const g = clusterGuarantees({ version: "2.11.1", clustered: true, replicas: 1 })
    expect(g.casSerialized).toBe(true)
    expect(g.warnings.join(" ")).toContain("R1")
  })

  it("guarantees - replication is stated store by store: an R1 bucket on an R3 cluster is named, and the swarm does not claim to survive a server", () => {
    const stores = [...runtimeStores({ replicas: 3, schedules: false, tasks: 3, pheromones: 1 }), { name: "ants_members", kind: "kv" as const, replicas: 3 }]
    const g = clusterGuarantees({ version: "2.10.4", clustered: true, replicas: 3, stores })
    expect(g.replicated).toContain("ants_state (KV)")
    expect(g.replicated).toContain("ANTS_TASKS (stream)")
    expect(g.unreplicated).toEqual(["ants_pheromones (KV) R1", "ants_workspace (KV) R1"])
    expect(g.survivesServerLoss).toBe(false)
    expect(g.statements.join("\n")).toMatch(/replicated R3 or more, surviving the loss of one server: ants_state \(KV\)/)
    expect(g.statements.join("\n")).not.toContain("ants_pheromones")
    expect(g.warnings.join("\n")).toContain("not replicated on this cluster (lost or unavailable while their server is down): ants_pheromones (KV) R1")
    const all3 = clusterGuarantees({ version: "2.10.27", clustered: true, replicas: 3, stores: runtimeStores({ replicas: 3, schedules: true, tasks: undefined, pheromones: 3 }) })
    expect(all3).toMatchObject({ survivesServerLoss: true, unreplicated: [], warnings: [] })
  })

  it("guarantees - default replicas: as many as the cluster has servers, at most 3; 1 on a single server", () => {
    expect(defaultReplicas({ clustered: false, clusterSize: 1 })).toBe(1)
    expect(defaultReplicas({ clustered: true, clusterSize: 5 })).toBe(3)
    expect(defaultReplicas({ clustered: true, clusterSize: 2 })).toBe(2)
    expect(clusterSizeOf({ cluster: "ants", connect_urls: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:2"] })).toBe(3)
    expect(clusterSizeOf({ cluster: "ants" })).toBe(1)
    expect(clusterSizeOf({ connect_urls: ["127.0.0.1:1", "127.0.0.1:2"] })).toBe(1)
    expect(clusterSizeOf(undefined)).toBe(1)
  })

  it("guarantees - a server with published vulnerabilities is warned about, naming them and the versions that fix them", () => {
    const g = clusterGuarantees({ version: "2.9.10", clustered: false, replicas: 1 })
    expect(g.vulnerabilities).toEqual([
      { id: "CVE-2023-47090", fixedIn: ["2.9.23", "2.10.2"] },
      { id: "CVE-2025-30215", fixedIn: ["2.10.27", "2.11.1"] },
    ])
    expect(g.warnings.join("\n")).toMatch(/CVE-2023-47090.*fixed in 2\.9\.23/)
    expect(g.warnings.join("\n")).toMatch(/CVE-2025-30215.*fixed in 2\.10\.27 and 2\.11\.1/)
    expect(clusterGuarantees({ version: "2.11.1", clustered: false, replicas: 1 }).vulnerabilities).toEqual([])
  })
})
