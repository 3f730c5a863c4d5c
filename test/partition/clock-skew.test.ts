/**
 * Scenario 6 of the partition suite (bench/chaos/scenarios.ts, which `ants chaos` runs too): a
 * node whose wall clock is 5 s ahead (libfaketime), among separate hosts (network namespaces).
 * Membership, leases and the out-of-touch rule measure durations on each node's own clock, so
 * the skewed node fails over and back like any other (the history is checked as in the other
 * scenarios); what a skewed clock does break is every time a node writes for others to read, so
 * the runtime says so: the skewed node and every other node log how far its clock is from the
 * NATS server's (the scenario checks both warnings, and that nobody warns about n2).
 *
 * Needs root, iproute2 and `faketime` (Debian: apt-get install -y faketime); says which is
 * missing when it skips.
 */
import { afterAll, describe, expect, it } from "vitest"
import { chaosTable, runChaosScenario, startSwarm, type NetCluster } from "../../bench/chaos/run-chaos.ts"
import { netnsSupport } from "../../bench/chaos/netns.ts"
import { acksBy } from "../../bench/chaos/scenario.ts"
import { chaosScenario } from "../../bench/chaos/scenarios.ts"

const scenario = chaosScenario("clock-skew")
const support = netnsSupport()
const skip = support.ok ? scenario.missing?.() : support.reason
if (skip) console.warn(`clock-skew scenario skipped: ${skip}`)

let cluster: NetCluster | undefined
afterAll(async () => {
  await cluster?.stop()
}, 60_000)

describe.skipIf(skip !== undefined)("partition: clock skew", () => {
  it("clock skew - a node 5 s ahead is warned about by itself and the others, and fails over without losing anything", async () => {
    cluster = await startSwarm(scenario.clockOffset)
    const r = await runChaosScenario(cluster, scenario, process.env.ANTS_PARTITION_SLOW === "1" ? "long" : "standard")
    console.log(chaosTable(r.rows))
    expect(r.rows.flatMap((row) => row.problems)).toEqual([])
    // its actors moved to n2 while it was cut off, and it serves again after the heal
    const ops = r.outcome.types[0]!.ops
    expect(acksBy(ops, "n2", r.outcome.faultAt + 2_000, r.outcome.healedAt)).toBeGreaterThan(0)
    expect(acksBy(ops, "n1", r.outcome.healedAt, Number.POSITIVE_INFINITY)).toBeGreaterThan(0)
  }, 240_000)
})
