/**
 * `ants chaos [scenario...] [options]` (declared in chaos-spec.ts; bench/chaos/ holds the hosts,
 * the scenarios and the history checker, which the partition suite uses too). Checks that this
 * machine can build hosts before anything starts (root, iproute2, namespaces, veth, a bridge,
 * htb/u32 queueing) and says what is missing when it cannot; then runs the scenarios, printing
 * progress on stderr and the report on stdout (a table, or with --json one JSON line per row).
 * Exit 0 when every goal held (nothing acknowledged lost, nothing applied twice, no double
 * activation, no other problem), 1 otherwise; 130/143 on SIGINT/SIGTERM, after removing the hosts.
 */
import { chaosTable, chaosUnsupported, runChaos, selectChaosScenarios } from "../../bench/chaos/run-chaos.ts"
import { CHAOS } from "./chaos-spec.ts"
import { CliError } from "./cli-error.ts"
import type { Parsed } from "./command-spec.ts"
import type { Io } from "./io.ts"
import { UsageError } from "./usage-error.ts"

export async function runChaosCommand(parsed: Parsed<(typeof CHAOS)["options"]>, io: Io & { readonly json: boolean }): Promise<number> {
  const v = parsed.values
  if (v.quick && v.pace !== "standard" && v.pace !== "quick") throw new UsageError(`--quick is --pace quick: it cannot be given with --pace ${v.pace}`)
  let scenarios
  try {
    scenarios = selectChaosScenarios(parsed.args)
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  const unsupported = chaosUnsupported()
  if (unsupported) throw new CliError(`cannot build test hosts on this machine: ${unsupported}`)
  const pace = v.quick ? "quick" : v.pace
  // Ctrl-C or a kill: exit through process.exit, whose "exit" hook removes every host built
  const interrupted = (signal: NodeJS.Signals) => () => {
    io.err(`ants chaos: ${signal}: removing the test hosts`)
    process.exit(signal === "SIGINT" ? 130 : 143)
  }
  const onInt = interrupted("SIGINT")
  const onTerm = interrupted("SIGTERM")
  process.once("SIGINT", onInt)
  process.once("SIGTERM", onTerm)
  const rows = await runChaos({
    scenarios,
    pace,
    runs: v.runs,
    keep: v.keep,
    progress: (l) => io.err(`ants chaos: ${l}`),
    row: (r) => {
      if (io.json) io.out(JSON.stringify(r))
    },
  })
  process.off("SIGINT", onInt)
  process.off("SIGTERM", onTerm)
  if (!io.json) io.out(chaosTable(rows))
  return rows.every((r) => r.ok) ? 0 : 1
}
