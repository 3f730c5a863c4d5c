/**
 * Scenarios 1, 3, 4 and 5 of the partition suite (declared in bench/chaos/scenarios.ts, which
 * `ants chaos` runs too) on one swarm of separate hosts (network namespaces, bench/chaos/netns.ts):
 * servers a, b, c; node n1 on a and node n2 on b; client c1 through a and c2 through b, asking
 * `Add` on ten counters of their own per scenario. Each scenario's history is checked
 * (bench/chaos/history-checker.ts): no acknowledged increment lost (beyond after-change's
 * in-flight window), none applied twice, no counter active on two nodes at once, tasks run at
 * least once and recorded once; then what the scenario itself requires (a cut-off node answers
 * nothing once its actors can have moved), and here also that the swarm stayed available where
 * it should.
 *
 * Needs root and iproute2 (it says so when it skips). ANTS_PARTITION_SLOW=1 runs the long
 * versions (longer cuts, both checkpoint policies in every scenario).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chaosTable, runChaosScenario, startSwarm, type NetCluster } from "../../bench/chaos/run-chaos.ts"
import { netnsSupport } from "../../bench/chaos/netns.ts"
import { acksBy } from "../../bench/chaos/scenario.ts"
import { chaosScenario, type Pace } from "../../bench/chaos/scenarios.ts"

const support = netnsSupport()
if (!support.ok) console.warn(`partition suite skipped: ${support.reason}`)
const PACE: Pace = process.env.ANTS_PARTITION_SLOW === "1" ? "long" : "standard"

let cluster: NetCluster
beforeAll(async () => {
  if (support.ok) cluster = await startSwarm()
}, 180_000)
afterAll(async () => {
  await cluster?.stop()
}, 60_000)

/** Runs the scenario, prints its report, and expects no problem. */
async function run(name: string) {
  const r = await runChaosScenario(cluster, chaosScenario(name), PACE)
  console.log(chaosTable(r.rows))
  for (const row of r.rows) console.log(JSON.stringify(row))
  expect(r.rows.flatMap((row) => row.problems)).toEqual([])
  return r.outcome
}

describe.skipIf(!support.ok)("partition scenarios", () => {
  it("isolated node - its actors are served elsewhere, it answers nothing meanwhile, and it rejoins after the heal", async () => {
    const r = await run("isolated-node")
    const ops = r.types[0]!.ops
    // its actors answered from n2 during the cut (that n1 answered nothing is the scenario's own check)
    expect(acksBy(ops, "n2", r.faultAt + 2_000, r.healedAt)).toBeGreaterThan(0)
    // rejoined: it serves its share again
    expect(acksBy(ops, "n1", r.healedAt, Number.POSITIVE_INFINITY)).toBeGreaterThan(0)
  }, 180_000)

  it("one server reachable - a node cut from its own server and one other moves to the one it reaches", async () => {
    const r = await run("one-server-reachable")
    // it found its way to b and answered again before the heal
    expect(acksBy(r.types[0]!.ops, "n1", r.faultAt + 2_000, r.healedAt)).toBeGreaterThan(0)
  }, 180_000)

  it("flapping link - a node whose link goes down and up every 300 ms for a minute loses nothing acknowledged", async () => {
    await run("flapping")
  }, 240_000)

  it("lossy link - 20% loss (and 200 ms delay where the kernel has sch_netem) on a node's link under asks and tasks", async () => {
    const r = await run("lossy-link")
    expect(r.types[0]!.verdict.tasks.submitted).toBeGreaterThan(0)
  }, 240_000)
})
