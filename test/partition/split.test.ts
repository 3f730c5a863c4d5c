/**
 * Scenario 2 of the partition suite (bench/chaos/scenarios.ts, which `ants chaos split` runs
 * too): the NATS cluster split two against one. Three servers (a, b, c), node n1 on a and node
 * n2 on b, a client on each side asking `Add` on the same ten counters under each checkpoint
 * policy at once. Server a, n1 and client c1 are cut off from everyone else for 10 s, then
 * healed; the totals are read after the heal and again later, and each policy's history is
 * checked: no acknowledged increment lost (after-change: beyond its in-flight window), none
 * applied twice, no two activations of one counter acknowledging writes at the same time.
 *
 * Each host is a network namespace (bench/chaos/netns.ts); the suite needs root and iproute2
 * and says so when it skips. ANTS_PARTITION_RUNS=N repeats the scenario N times (default 1),
 * each on a swarm of its own; ANTS_PARTITION_SLOW=1 uses the timings (longer load,
 * reads 20 s apart); ANTS_PARTITION_KEEP=1 keeps every history (a failed run's is always kept).
 */
import { describe, expect, it } from "vitest"
import { chaosTable, runChaos } from "../../bench/chaos/run-chaos.ts"
import { netnsSupport } from "../../bench/chaos/netns.ts"
import { chaosScenario } from "../../bench/chaos/scenarios.ts"

const support = netnsSupport()
if (!support.ok) console.warn(`partition suite skipped: ${support.reason}`)
const RUNS = Number(process.env.ANTS_PARTITION_RUNS ?? "1")

describe.skipIf(!support.ok)("partition: split two against one", () => {
  it("split - no acknowledged increment is lost (after-change: beyond its in-flight window) and no counter is active on both sides", async () => {
    const rows = await runChaos({
      scenarios: [chaosScenario("split")],
      pace: process.env.ANTS_PARTITION_SLOW === "1" ? "long" : "standard",
      runs: RUNS,
      keep: process.env.ANTS_PARTITION_KEEP === "1",
      progress: (l) => console.log(l),
      row: (r) => console.log(JSON.stringify(r)),
    })
    console.log(chaosTable(rows))
    expect(rows.length).toBe(2 * RUNS)
    expect(rows.flatMap((r) => r.problems.map((p) => `run ${r.run} ${r.policy}: ${p}`))).toEqual([])
  }, 300_000 * RUNS)
})
