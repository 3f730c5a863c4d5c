/**
 * Scenario 6 of the partition suite: a node whose wall clock is 5 s ahead (libfaketime), among
 * separate hosts (network namespaces). Membership, leases and the out-of-touch rule measure
 * durations on each node's own clock, so the skewed node fails over and back like any other
 * (the history is checked as in the other scenarios); what a skewed clock does break is every
 * time a node writes for others to read, so the runtime says so: the skewed node and every
 * other node log how far its clock is from the NATS server's.
 *
 * Needs root, iproute2 and `faketime` (Debian: apt-get install -y faketime); says which is
 * missing when it skips.
 */
import { execFileSync } from "node:child_process"
import { afterAll, describe, expect, it } from "vitest"
import { netnsSupport } from "../helpers/netns.ts"
import { NetCluster } from "./fixtures/net-cluster.ts"
import { acksBy, hold, runScenario } from "./fixtures/scenario.ts"

function faketimeMissing(): string | undefined {
  try {
    execFileSync("faketime", ["-f", "+0s", "true"], { stdio: "ignore" })
    return undefined
  } catch {
    return "`faketime` (libfaketime) is not installed: apt-get install -y faketime"
  }
}

const support = netnsSupport()
const skip = support.ok ? faketimeMissing() : support.reason
if (skip) console.warn(`clock-skew scenario skipped: ${skip}`)

let cluster: NetCluster | undefined
afterAll(async () => {
  await cluster?.stop()
}, 60_000)

describe.skipIf(skip !== undefined)("partition: clock skew", () => {
  it("clock skew - a node 5 s ahead is warned about by itself and the others, and fails over without losing anything", async () => {
    cluster = new NetCluster()
    await cluster.startServers()
    const n1 = await cluster.startNode("n1", "n1", "a", { clockOffset: "+5s" })
    const n2 = await cluster.startNode("n2", "n2", "b")
    await n1.line((l) => /the clock of this node \(n1\) is \d+ ms ahead of the NATS server's/.test(l), 30_000)
    await n2.line((l) => /the clock of node n1 is \d+ ms ahead of the NATS server's/.test(l), 30_000)
    // n2's own clock is right: nobody warns about it
    expect(n2.stderr()).not.toMatch(/the clock of this node \(n2\)/)
    const c = cluster
    const r = await runScenario(c, {
      name: "clock-skew",
      type: "pcount",
      ids: Array.from({ length: 10 }, (_, i) => `skew${i}`),
      clients: [
        { host: "c1", name: "c1", home: "a" },
        { host: "c2", name: "c2", home: "b" },
      ],
      warmMs: 3_000,
      fault: async () => {
        c.net.isolate("n1")
        await hold(8_000)
        c.net.heal("n1")
      },
      afterMs: 8_000,
      rereadMs: 2_000,
    })
    expect(r.verdict.problems).toEqual([])
    // its actors moved to n2 while it was cut off, and it serves again after the heal
    expect(acksBy(r.ops, "n2", r.faultAt + 2_000, r.healedAt)).toBeGreaterThan(0)
    expect(acksBy(r.ops, "n1", r.healedAt, Number.POSITIVE_INFINITY)).toBeGreaterThan(0)
  }, 240_000)
})
