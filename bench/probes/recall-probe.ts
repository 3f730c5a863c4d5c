/**
 * One backend of the recall scenario in a process of its own, so that PGlite (which runs its
 * database in the process that opens it) inserts while PostgreSQL does in the scenario's:
 *
 *   node --import tsx bench/probes/recall-probe.ts '<json config>'
 *
 * Config: `{backend, n, queries, kind, options}` (options: the run's). Makes the same data as
 * the scenario (recall-data.ts is seeded), runs `runBackend`, and prints what it measures as the
 * lines probe-output.ts reads (`progress`, `note`, `record`, `skip`, then `result {}`). Between
 * its inserts and its searches it prints `inserted` and waits for a line `go` on its standard
 * input, so that its searches are timed while nothing else runs.
 */
import { createInterface } from "node:readline"
import type { BenchOptions, FigureInput, ScenarioContext } from "../types.ts"
import { runBackend, type RecallBackend } from "../scenarios/recall-backend.ts"
import { recallSet, type RecallData } from "../scenarios/recall-data.ts"

interface Config {
  backend: RecallBackend
  n: number
  queries: number
  kind: RecallData
  options: BenchOptions
}

const config = JSON.parse(process.argv[2] ?? "{}") as Config
const say = (s: string) => process.stdout.write(s + "\n")

let go: () => void = () => undefined
const started = new Promise<void>((ok) => (go = ok))
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "go") go()
})

const ctx: ScenarioContext = {
  options: config.options,
  quick: config.options.quick,
  natsUrl: "",
  natsVersion: "",
  record: (figure: FigureInput) => say(`record ${JSON.stringify(figure)}`),
  skip: (reason: string, metric?: string) => say(`skip ${JSON.stringify({ reason, metric })}`),
  progress: (fraction: number, label: string) => say(`progress ${fraction.toFixed(3)} ${label}`),
  log: (message: string) => say(`note ${message.replace(/\n/g, " ")}`),
}

try {
  const data = recallSet(config.kind, config.n, config.queries)
  await runBackend(ctx, config.backend, data, config.kind, async () => {
    say("inserted")
    await started
  })
  say("result {}")
  process.exit(0)
} catch (e) {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exit(1)
}
