/**
 * The declaration of `ants chaos` (pure data, like commands.ts, which lists it among the
 * commands): network faults against a swarm of test hosts built on this machine, with a report
 * per fault. The scenario names mirror CHAOS_SCENARIOS in bench/chaos/scenarios.ts (test/partition
 * checks it).
 */
import { defineCommand } from "./command-spec.ts"
import { flag, int, oneOf } from "./option.ts"

export const CHAOS_SCENARIO_NAMES = ["isolated-node", "split", "one-server-reachable", "flapping", "lossy-link", "clock-skew"] as const
export const CHAOS_PACES = ["quick", "standard", "long"] as const

export const CHAOS = defineCommand({
  name: "chaos",
  summary: "cut, split, flap and degrade the links of a swarm of test hosts; report what each fault cost",
  args: {
    args: "[scenario...]",
    min: 0,
    max: CHAOS_SCENARIO_NAMES.length,
    summary:
      "Builds separate hosts on this Linux machine (a network namespace each, on a bridge that exists only inside them: root and iproute2 required): three nats-servers (the shipped nats-cluster/ files), two runtime nodes and recording clients. Runs each scenario (all when none is named) and prints, per fault and checkpoint policy, how long clients went unanswered, acknowledged increments lost (goal 0), increments applied twice and double activations (goal 0). Removes every host it built, even when interrupted. Exit 0 when every goal held, 1 when one did not or the hosts could not be built (it says why).",
  },
  options: {
    pace: oneOf(CHAOS_PACES, "fault lengths: quick (seconds each, a smoke run of about 4 minutes for all), standard (the test suite's: 10-60 s faults), long (longer cuts, both policies everywhere)").withDefault("standard"),
    quick: flag("short for --pace quick"),
    runs: int("<n>", "run each scenario this many times").withDefault(1),
    keep: flag("keep every history and the nodes' logs (a failed run's are always kept) in the temporary folder"),
  },
  notes: [
    "Run it as root (sudo npx ants chaos ...): building network namespaces needs it. Nothing leaves the namespaces it makes; it does not touch the machine's own network.",
    `Scenarios: ${CHAOS_SCENARIO_NAMES.join(", ")}. clock-skew needs libfaketime (apt-get install -y faketime) and is reported skipped without it; lossy-link adds 200 ms of delay only where the kernel has sch_netem.`,
    "With --json each row of the report is one JSON line on stdout (scenario, run, fault, policy, faultMs, unavailableMs per client, acknowledged, lostAcknowledged, lostInFlight, appliedTwice, doubleActivations, tasks, problems, kept, skipped, ok).",
  ],
  examples: ["npx ants chaos isolated-node --quick", "npx ants chaos split --runs 5 --json", "npx ants chaos --pace long"],
  connects: false,
})
