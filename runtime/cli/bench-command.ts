/**
 * `ants bench [scenario...] [options]` (see bench/options.ts for the options and bench/README.md
 * for the scenarios). Runs the benchmark scenarios and writes figures.jsonl, report.md,
 * headline.md and chart.svg into the results folder; prints the headline table (or, with
 * --json, the figures as JSON lines). Exit code 0 when the run completed, whatever the figures
 * say: the harness reports, it never asserts. 2 on a usage error.
 */
import { BENCH_USAGE, parseBenchArgs } from "../../bench/options.ts"
import { headlineTable } from "../../bench/reporters/markdown.ts"
import { runBench, selectScenarios } from "../../bench/runner.ts"

export interface BenchCommandIo {
  readonly json: boolean
  readonly out: (s: string) => void
  readonly err: (s: string) => void
}

export async function benchCommand(argv: string[], io: BenchCommandIo): Promise<number> {
  let options
  try {
    options = parseBenchArgs(argv.filter((a) => a !== "--json"))
    if (options.help) {
      io.out(BENCH_USAGE)
      return 0
    }
    selectScenarios(options.scenarios)
  } catch (e) {
    // an unknown option's message carries the usage; an unknown scenario's lists the known ones
    io.err(`ants bench: ${(e as Error).message}`)
    return 2
  }
  const json = io.json || argv.includes("--json")
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI
  const result = await runBench(options, {
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
