/**
 * `ants chaos` (runtime/cli/chaos-command.ts): the scenarios of the partition suite against a
 * swarm of test hosts, with a report. Runs its first --help example as printed (one scenario at
 * the quick pace, about a minute) and checks the report; a user who is not root gets a clear
 * error saying so (as root, the CLI is started as user nobody to see it); a wrong scenario name
 * or contradictory paces are usage errors; the CLI's list of scenarios mirrors bench/chaos.
 *
 * The run needs root and iproute2 (it says why when it skips); the other tests run anywhere.
 */
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { netnsSupport } from "../../bench/chaos/netns.ts"
import { CHAOS_SCENARIOS, PACES } from "../../bench/chaos/scenarios.ts"
import { CHAOS, CHAOS_PACES, CHAOS_SCENARIO_NAMES } from "../../runtime/cli/chaos-spec.ts"
import { main } from "../../runtime/cli/main.ts"
import { shellWords } from "../cli/shell-words.ts"

const support = netnsSupport()
if (!support.ok) console.warn(`ants chaos run skipped: ${support.reason}`)
const BIN = new URL("../../runtime/cli/bin.mjs", import.meta.url).pathname
const ROOT = new URL("../../", import.meta.url).pathname

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (s) => void out.push(s), err: (s) => void err.push(s) })
  return { code, out: out.join("\n"), err: err.join("\n") }
}

describe("ants chaos", () => {
  it("chaos - the CLI's scenarios and paces are the ones bench/chaos runs", () => {
    expect([...CHAOS_SCENARIO_NAMES]).toEqual(CHAOS_SCENARIOS.map((s) => s.name))
    expect([...CHAOS_PACES]).toEqual([...PACES])
  })

  it("chaos - an unknown scenario or --quick with another pace is a usage error naming the choices", async () => {
    const bad = await cli(["chaos", "partition-everything"])
    expect(bad.code).toBe(2)
    for (const s of CHAOS_SCENARIO_NAMES) expect(bad.err).toContain(s)
    const both = await cli(["chaos", "--quick", "--pace", "long"])
    expect(both.code).toBe(2)
    expect(both.err).toContain("--quick is --pace quick")
  })

  it("chaos - without root it stops before building anything and says that root is needed", async () => {
    if (process.getuid?.() === 0) {
      // as root: the real binary, started as user nobody
      const r = spawnSync(process.execPath, [BIN, "chaos", "isolated-node", "--quick"], { cwd: ROOT, uid: 65534, gid: 65534, env: { ...process.env, HOME: "/tmp" }, encoding: "utf8" })
      expect(r.status, r.stderr).toBe(1)
      expect(r.stderr).toContain("ants chaos: cannot build test hosts on this machine: creating network namespaces needs root")
    } else {
      const r = await cli(["chaos", "isolated-node", "--quick"])
      expect(r.code).toBe(1)
      expect(r.err).toContain("cannot build test hosts on this machine")
    }
  })

  it.skipIf(!support.ok)("chaos - its first example runs as printed: a report per fault with the unavailability window, nothing lost, no double activation", async () => {
    const line = CHAOS.examples[0]!
    expect(line).toBe("npx ants chaos isolated-node --quick")
    const r = await cli(shellWords(line).slice(2))
    console.log(r.out)
    expect(r.code, `${r.out}\n${r.err}`).toBe(0)
    const row = r.out.split("\n").find((l) => l.startsWith("isolated-node "))
    // scenario, policy, unavailability per client, lost acked, in-flight, applied twice, double activations, tasks, ok
    expect(row).toMatch(/^isolated-node\s+after-change\s+c1 \d+\.\d s, c2 \d+\.\d s\s+0\s+\d+\s+0\s+0\s+-\s+yes$/)
    expect(r.out).toContain("isolated-node: node n1's link down for 5 s")
    expect(r.err).toContain("ants chaos: isolated-node:")
  }, 240_000)
})
