// The faults of the partition suite and of `ants chaos`, declared once: what each does to the
// swarm (three NATS servers a, b, c; node n1 on a, node n2 on b; client c1 through a, c2
// through b; each its own host, net-cluster.ts), for how long at each pace, and what must hold
// besides the history check (a cut-off node must not answer while its actors are served
// elsewhere; a skewed clock must be warned about).
//
// Paces: `standard` is the suite's (CI), `quick` a smoke run of seconds per fault, `long` the
// issue's timings (longer cuts and loads).
import { execFileSync } from "node:child_process"
import { netemAvailable } from "./netns.ts"
import { SERVERS, type NetCluster } from "./net-cluster.ts"
import { acksBy, hold, type ClientSpec, type CounterType, type ScenarioOptions, type ScenarioOutcome } from "./scenario.ts"

export const PACES = ["quick", "standard", "long"] as const
export type Pace = (typeof PACES)[number]

export interface ChaosScenario {
  readonly name: string
  /** The fault as a report prints it, at this pace. */
  fault(p: Pace): string
  /** n1's wall clock offset (libfaketime, e.g. "+5s"): the scenario needs a swarm of its own. */
  readonly clockOffset?: string
  /** What this machine lacks for the scenario (undefined: it can run). */
  missing?(): string | undefined
  /** The run: counters, clients, the fault and its timings. */
  plan(c: NetCluster, p: Pace): Omit<ScenarioOptions, "name">
  /** Problems beyond the history's, found once the run is over. */
  verify?(c: NetCluster, r: ScenarioOutcome): string[]
}

const ids = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}${i}`)
const CLIENTS: ReadonlyArray<ClientSpec> = [
  { host: "c1", name: "c1", home: "a" },
  { host: "c2", name: "c2", home: "b" },
]
const at = (p: Pace, quick: number, standard: number, long: number) => (p === "quick" ? quick : p === "standard" ? standard : long)
const secs = (ms: number) => `${ms / 1000} s`
/** Counter ids differ per run, so scenarios can share one swarm. */
let runSeq = 0
const fresh = (prefix: string) => `${prefix}${++runSeq}x`

/**
 * What every scenario drives: ten counters of its own per run asked by both clients (both
 * policies at the long pace, `types` otherwise), after a warm-up of load.
 */
const load = (p: Pace, prefix: string, types: ReadonlyArray<CounterType>) => ({
  types: p === "long" ? (["pcount", "pcountsafe"] as const) : types,
  ids: ids(fresh(prefix)),
  clients: CLIENTS,
  warmMs: at(p, 2_000, 3_000, 3_000),
})

/** Load after the heal, then the time between the two final reads, at each pace. */
const settle = (p: Pace, after: [number, number, number], reread: [number, number, number]) => ({ afterMs: at(p, ...after), rereadMs: at(p, ...reread) })

/** Takes n1's link down for `ms`. */
const isolation = (c: NetCluster, ms: number) => async () => {
  c.net.isolate("n1")
  await hold(ms)
  c.net.heal("n1")
}

function isolatedNode(): ChaosScenario {
  const cutMs = (p: Pace) => at(p, 5_000, 10_000, 20_000)
  return {
    name: "isolated-node",
    fault: (p) => `node n1's link down for ${secs(cutMs(p))} (it reaches no server)`,
    plan: (c, p) => ({ ...load(p, "iso", ["pcount"]), fault: isolation(c, cutMs(p)), ...settle(p, [5_000, 10_000, 10_000], [1_000, 3_000, 3_000]) }),
    // its actors can have moved 1.5 s after it went silent: nothing may come from it after that
    verify: (_c, r) =>
      r.types.flatMap((t) => {
        const n = acksBy(t.ops, "n1", r.faultAt + 2_000, r.healedAt)
        return n > 0 ? [`${t.policy}: the isolated node n1 acknowledged ${n} increment(s) more than 2 s into its isolation`] : []
      }),
  }
}

function split(): ChaosScenario {
  const cutMs = (p: Pace) => at(p, 5_000, 10_000, 10_000)
  return {
    name: "split",
    fault: (p) => `the NATS cluster split two against one for ${secs(cutMs(p))}: server a, node n1 and client c1 against the rest`,
    plan: (c, p) => ({
      ...load(p, "k", ["pcount", "pcountsafe"]),
      warmMs: at(p, 2_000, 3_000, 10_000),
      fault: async () => {
        c.net.split(["a", "n1", "c1"], ["b", "c", "n2", "c2"])
        await hold(cutMs(p))
        c.net.heal()
      },
      ...settle(p, [4_000, 5_000, 10_000], [2_000, 5_000, 20_000]),
    }),
  }
}

function oneServerReachable(): ChaosScenario {
  const cutMs = (p: Pace) => at(p, 10_000, 20_000, 30_000)
  return {
    name: "one-server-reachable",
    fault: (p) => `node n1 cut for ${secs(cutMs(p))} from the servers it is connected to, and from every other but one, which it still reaches`,
    plan: (c, p) => ({
      ...load(p, "one", ["pcountsafe"]),
      fault: async () => {
        // the one it keeps is one it is not connected to, so it has to find its way there; when
        // its connections are spread over all three (a lane that reconnected elsewhere), the one
        // holding the fewest of them: the others must move
        const conns = c.connectionsPerServer("n1")
        const keep = [...SERVERS].sort((x, y) => conns.get(x)! - conns.get(y)!)[0]!
        for (const s of SERVERS) if (s !== keep) c.net.cut("n1", s)
        await hold(cutMs(p))
        c.net.heal("n1")
      },
      ...settle(p, [5_000, 8_000, 8_000], [1_000, 3_000, 3_000]),
    }),
  }
}

function flapping(): ChaosScenario {
  const flapMs = (p: Pace) => at(p, 10_000, 60_000, 60_000)
  return {
    name: "flapping",
    fault: (p) => `node n1's link down and up every 300 ms for ${secs(flapMs(p))}`,
    plan: (c, p) => ({
      ...load(p, "flap", ["pcount"]),
      fault: async () => {
        const until = Date.now() + flapMs(p)
        while (Date.now() < until) {
          c.net.isolate("n1")
          await hold(300)
          c.net.heal("n1")
          await hold(300)
        }
      },
      ...settle(p, [5_000, 8_000, 8_000], [1_000, 3_000, 3_000]),
    }),
  }
}

function lossyLink(): ChaosScenario {
  const lossMs = (p: Pace) => at(p, 6_000, 15_000, 60_000)
  const degradation = () => (netemAvailable() ? { lossPct: 20, delayMs: 200 } : { lossPct: 20 })
  return {
    name: "lossy-link",
    fault: (p) =>
      `${netemAvailable() ? "20% loss and 200 ms delay" : "20% loss (no sch_netem in this kernel: no delay)"} on node n1's link for ${secs(lossMs(p))}, under asks and tasks`,
    plan: (c, p) => ({
      ...load(p, "loss", ["pcountsafe"]),
      tasks: { host: "c2", name: "t2", home: "b", prefix: fresh(`lossy${process.pid}-`) },
      fault: async () => {
        c.net.degrade("n1", degradation())
        await hold(lossMs(p))
        c.net.heal("n1")
      },
      ...settle(p, [4_000, 5_000, 5_000], [1_000, 2_000, 2_000]),
    }),
    verify: (_c, r) => (r.types[0]!.verdict.tasks.submitted === 0 ? ["no task submission was acknowledged"] : []),
  }
}

function clockSkew(): ChaosScenario {
  const cutMs = (p: Pace) => at(p, 5_000, 8_000, 20_000)
  return {
    name: "clock-skew",
    clockOffset: "+5s",
    fault: (p) => `node n1's wall clock 5 s ahead (libfaketime), and its link down for ${secs(cutMs(p))}`,
    missing: () => {
      try {
        execFileSync("faketime", ["-f", "+0s", "true"], { stdio: "ignore" })
        return undefined
      } catch {
        return "`faketime` (libfaketime) is not installed: apt-get install -y faketime"
      }
    },
    plan: (c, p) => ({ ...load(p, "skew", ["pcount"]), fault: isolation(c, cutMs(p)), ...settle(p, [5_000, 8_000, 8_000], [1_000, 2_000, 2_000]) }),
    verify: (c) => {
      const problems: string[] = []
      const n1 = c.nodes.get("n1")
      const n2 = c.nodes.get("n2")
      if (n1 && !/the clock of this node \(n1\) is \d+ ms ahead of the NATS server's/.test(n1.stderr())) problems.push("node n1 did not warn about its own clock")
      if (n2 && !/the clock of node n1 is \d+ ms ahead of the NATS server's/.test(n2.stderr())) problems.push("node n2 did not warn about n1's clock")
      if (n2 && /the clock of this node \(n2\)/.test(n2.stderr())) problems.push("node n2 warned about its own clock, which is right")
      return problems
    },
  }
}

/** Every scenario, in the order a full run executes them. */
export const CHAOS_SCENARIOS: ReadonlyArray<ChaosScenario> = [isolatedNode(), split(), oneServerReachable(), flapping(), lossyLink(), clockSkew()]

export function chaosScenario(name: string): ChaosScenario {
  const s = CHAOS_SCENARIOS.find((x) => x.name === name)
  if (!s) throw new Error(`unknown chaos scenario "${name}"; the scenarios are ${CHAOS_SCENARIOS.map((x) => x.name).join(", ")}`)
  return s
}
