/**
 * `ants bench` arguments. Unknown flags and malformed values are refused with a message that
 * names the flag; scenario names are checked by the runner against its registry.
 */
import type { BenchOptions } from "./types.ts"

export class BenchUsageError extends Error {
  readonly _tag = "BenchUsageError"
  constructor(message: string) {
    super(message)
    this.name = "BenchUsageError"
  }
}

export const BENCH_USAGE = `Usage: ants bench [scenario...] [options]

Runs the benchmark scenarios (all when none is named) against an embedded nats-server, or the
server given with --nats, and writes JSON lines, a Markdown report and an SVG chart into the
results folder. Every figure is compared with a raw NATS baseline measured in the same run.

Scenarios: ask, ask-auth, tell, activation, memory, scale, pheromones, tasks, swarm, failover, models,
  llm-swarm, noisy-neighbour, task-failover

Options:
  --quick              run every scenario briefly (a smoke run, well under 2 minutes)
  --nats <url>         use this NATS server instead of an embedded nats-server -js
  --agents <N>         actors/agents per scenario (memory: actors, default 100000;
                       scale: active actors, default 100000, ten times as many asleep;
                       activation: actors per round; swarm: agents; failover: actors)
  --nodes <K>          node processes for swarm and failover (default 3; quick 2)
  --duration <ms>      measuring window of one round of ask, tell, pheromone deposit
                       and reinforce (default 2000; quick 200)
  --tasks <N>          tasks per round: tasks (default 4000; quick 400), swarm
                       (default 2000; quick 120)
  --rounds <R>         baseline/ANTS alternation rounds, medians taken (default 5; quick 2)
  --rate <N>           offered rate per second (tell publishes, swarm tasks, failover asks;
                       noisy-neighbour: the flooding tenant's rate limit)
  --payload <bytes>    message payload size (default 64)
  --concurrency <list> ask concurrency levels, comma-separated (default 1,16,64)
  --out <dir>          results folder (default bench-results/<timestamp>/)
  --json               print the figures as JSON lines on stdout
  -h, --help           this text
`

function positiveInt(flag: string, v: string | undefined, allowZero = false): number {
  if (v === undefined || v.startsWith("--")) throw new BenchUsageError(`${flag} needs a value`)
  const n = Number(v)
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new BenchUsageError(`${flag} must be a ${allowZero ? "non-negative" : "positive"} integer, got "${v}"`)
  return n
}

/** Parses the arguments after `bench`. `--json` is the CLI's and is accepted and ignored here. */
export function parseBenchArgs(argv: ReadonlyArray<string>): BenchOptions & { help: boolean } {
  const scenarios: string[] = []
  let quick = false
  let help = false
  let nats: string | undefined
  let agents: number | undefined
  let nodes: number | undefined
  let durationMs: number | undefined
  let tasks: number | undefined
  let rate: number | undefined
  let payload = 64
  let concurrency: number[] = [1, 16, 64]
  let out: string | undefined
  let rounds: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]
    const eq = raw.startsWith("--") ? raw.indexOf("=") : -1
    const flag = eq > 0 ? raw.slice(0, eq) : raw
    const inline = eq > 0 ? raw.slice(eq + 1) : undefined
    const value = () => {
      if (inline !== undefined) return inline
      i++
      return argv[i]
    }
    switch (flag) {
      case "--quick":
        quick = true
        break
      case "-h":
      case "--help":
        help = true
        break
      case "--json":
        break
      case "--nats": {
        const v = value()
        if (!v || v.startsWith("--")) throw new BenchUsageError("--nats needs a URL")
        nats = v
        break
      }
      case "--agents":
        agents = positiveInt(flag, value())
        break
      case "--nodes":
        nodes = positiveInt(flag, value())
        break
      case "--duration":
        durationMs = positiveInt(flag, value())
        break
      case "--tasks":
        tasks = positiveInt(flag, value())
        break
      case "--rounds":
        rounds = positiveInt(flag, value())
        break
      case "--rate":
        rate = positiveInt(flag, value())
        break
      case "--payload":
        payload = positiveInt(flag, value(), true)
        break
      case "--concurrency": {
        const v = value()
        if (!v) throw new BenchUsageError("--concurrency needs a list such as 1,16,64")
        concurrency = v.split(",").map((s) => positiveInt(flag, s.trim()))
        break
      }
      case "--out": {
        const v = value()
        if (!v) throw new BenchUsageError("--out needs a folder")
        out = v
        break
      }
      default:
        if (raw.startsWith("-")) throw new BenchUsageError(`unknown option ${raw}\n\n${BENCH_USAGE}`)
        scenarios.push(raw)
    }
  }
  return { scenarios, quick, help, nats, agents, nodes, durationMs, tasks, rate, payload, concurrency, out, rounds }
}

/** The options as they go into every JSON line (undefined ones dropped). */
export function optionsRecord(o: BenchOptions): Record<string, unknown> {
  const r: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined && k !== "help") r[k] = v
  return r
}
