/**
 * Scenarios 1, 3, 4 and 5 of the partition suite on one swarm of separate hosts (network
 * namespaces, test/helpers/netns.ts): servers a, b, c; node n1 on a and node n2 on b; client c1
 * through a and c2 through b, asking `Add` on ten counters of their own per scenario. Each
 * scenario's history is checked (fixtures/scenario.ts): no acknowledged increment lost (beyond
 * after-change's in-flight window), none applied twice, no counter active on two nodes at once,
 * tasks run at least once and recorded once.
 *
 * Needs root and iproute2 (it says so when it skips). ANTS_PARTITION_SLOW=1 runs the long
 * versions (a minute of flapping, longer cuts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { netemAvailable, netnsSupport } from "../helpers/netns.ts"
import { NetCluster } from "./fixtures/net-cluster.ts"
import { acksBy, hold, runScenario } from "./fixtures/scenario.ts"

const support = netnsSupport()
if (!support.ok) console.warn(`partition suite skipped: ${support.reason}`)
const SLOW = process.env.ANTS_PARTITION_SLOW === "1"
const ids = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}${i}`)
const clients = [
  { host: "c1", name: "c1", home: "a" as const },
  { host: "c2", name: "c2", home: "b" as const },
]

let cluster: NetCluster
beforeAll(async () => {
  if (!support.ok) return
  cluster = new NetCluster()
  await cluster.startServers()
  await cluster.startNode("n1", "n1", "a")
  await cluster.startNode("n2", "n2", "b")
}, 180_000)
afterAll(async () => {
  await cluster?.stop()
}, 60_000)

describe.skipIf(!support.ok)("partition scenarios", () => {
  it("isolated node - its actors are served elsewhere, it answers nothing meanwhile, and it rejoins after the heal", async () => {
    const r = await runScenario(cluster, {
      name: "isolated-node",
      type: "pcount",
      ids: ids("iso"),
      clients,
      warmMs: 3_000,
      fault: async () => {
        cluster.net.isolate("n1")
        await hold(SLOW ? 20_000 : 10_000)
        cluster.net.heal("n1")
      },
      afterMs: 10_000,
      rereadMs: 3_000,
    })
    expect(r.verdict.problems).toEqual([])
    // nothing reached the isolated node; its actors answered from n2 during the cut
    expect(acksBy(r.ops, "n1", r.faultAt + 2_000, r.healedAt)).toBe(0)
    expect(acksBy(r.ops, "n2", r.faultAt + 2_000, r.healedAt)).toBeGreaterThan(0)
    // rejoined: it serves its share again
    expect(acksBy(r.ops, "n1", r.healedAt, Number.POSITIVE_INFINITY)).toBeGreaterThan(0)
  }, 180_000)

  it("one server reachable - a node cut from its own server and one other moves to the one it reaches", async () => {
    const r = await runScenario(cluster, {
      name: "one-server-reachable",
      type: "pcountsafe",
      ids: ids("one"),
      clients,
      warmMs: 3_000,
      fault: async () => {
        // n1 is connected to a: it keeps only b
        cluster.net.cut("n1", "a")
        cluster.net.cut("n1", "c")
        await hold(SLOW ? 30_000 : 20_000)
        cluster.net.heal("n1")
      },
      afterMs: 8_000,
      rereadMs: 3_000,
    })
    expect(r.verdict.problems).toEqual([])
    // it found its way to b and answered again before the heal
    expect(acksBy(r.ops, "n1", r.faultAt + 2_000, r.healedAt)).toBeGreaterThan(0)
  }, 180_000)

  it("flapping link - a node whose link goes down and up every 300 ms loses nothing acknowledged", async () => {
    const r = await runScenario(cluster, {
      name: "flapping",
      type: "pcount",
      ids: ids("flap"),
      clients,
      warmMs: 3_000,
      fault: async () => {
        const until = Date.now() + (SLOW ? 60_000 : 20_000)
        while (Date.now() < until) {
          cluster.net.isolate("n1")
          await hold(300)
          cluster.net.heal("n1")
          await hold(300)
        }
      },
      afterMs: 8_000,
      rereadMs: 3_000,
    })
    expect(r.verdict.problems).toEqual([])
  }, 240_000)

  it(`lossy link - ${netemAvailable() ? "20% loss and 200 ms delay" : "20% loss (no sch_netem in this kernel: no delay)"} on a node's link under asks and tasks`, async () => {
    const r = await runScenario(cluster, {
      name: "lossy-link",
      type: "pcountsafe",
      ids: ids("loss"),
      clients,
      tasks: { host: "c2", name: "t2", home: "b", prefix: `lossy${Date.now()}` },
      warmMs: 3_000,
      fault: async () => {
        cluster.net.degrade("n1", netemAvailable() ? { lossPct: 20, delayMs: 200 } : { lossPct: 20 })
        await hold(SLOW ? 60_000 : 15_000)
        cluster.net.heal("n1")
      },
      afterMs: 5_000,
      rereadMs: 2_000,
    })
    expect(r.verdict.problems).toEqual([])
    expect(r.verdict.tasks.submitted).toBeGreaterThan(0)
  }, 240_000)
})
