/**
 * `ants bench [scenario...] [options]` (declared in commands.ts as BENCH; bench/README.md
 * explains the scenarios). Runs the benchmark scenarios and writes figures.jsonl, report.md,
 * headline.md and chart.svg into the results folder; prints the headline table (or, with
 * --json, the figures as JSON lines). Exit code 0 when the run completed, whatever the figures
 * say: the harness reports, it never asserts. 2 on a usage error.
 *
 * The declaration checks every option first; bench/options.ts then builds the run's options
 * from the same arguments, so the benchmark keeps its own defaults per scenario.
 */
import { parseBenchArgs } from "../../bench/options.ts"
import { headlineTable } from "../../bench/reporters/markdown.ts"
import { runBench as runScenarios, selectScenarios } from "../../bench/runner.ts"
import type { Parsed } from "./command-spec.ts"
import { BENCH } from "./commands.ts"
import { runCommand, type CommandIo } from "./run-command.ts"
import { UsageError } from "./usage-error.ts"

export interface BenchCommandIo extends CommandIo {
  readonly err: (s: string) => void
}

/** `ants bench ...` from code: the same parsing, help and exit codes as the shell. */
export async function benchCommand(argv: string[], io: BenchCommandIo): Promise<number> {
  return await runCommand(BENCH, argv, io, (parsed, json) => runBench(parsed, { ...io, json }, argv))
}

export async function runBench(parsed: Parsed<(typeof BENCH)["options"]>, io: BenchCommandIo, argv: ReadonlyArray<string>): Promise<number> {
  let options
  try {
    options = parseBenchArgs(argv.filter((a) => a !== "--json"))
    selectScenarios(parsed.args)
  } catch (e) {
    // an unknown scenario's message lists the known ones
    throw new UsageError((e as Error).message)
  }
  const json = io.json
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI
  const result = await runScenarios(options, {
    json,
    out: io.out,
    // the bar redraws a partial line in place, which the CLI's line-oriented err cannot do
    err: tty ? (s) => void process.stderr.write(s) : io.err,
    tty,
  })
  if (!json) {
    io.out(headlineTable(result.figures, result.info))
    io.out(`results: ${result.dir}/ (figures.jsonl, report.md, headline.md, chart.svg)`)
  } else {
    io.err(`ants bench: results in ${result.dir}/`)
  }
  return 0
}
