/**
 * `ants pheromone deposit|reinforce|detect|watch|evaporate`: the pheromone API from a shell.
 * The main CLI connects and passes the connection; this module parses its own arguments and
 * returns an exit code (0 ok, 1 refused by the API, 2 usage).
 *
 *   ants pheromone deposit --type danger --location integrations.stripe [--strength high|0.7]
 *                          [--ttl 60s] [--decay linear] [--id x] [--data '{"status":429}'] [--reinforce]
 *   ants pheromone reinforce <key> | --location L --id X  [--strength low] [--ttl 5m] [--data JSON]
 *   ants pheromone detect [--location L] [--types danger,success] [--min 0.2] [--limit 10] [--exact]
 *   ants pheromone watch  [--location L] [--types ...] [--count N] [--timeout 30s]
 *   ants pheromone evaporate <key> | --location L --id X
 * Common: --tenant T (default `default`), --emitter E (default `cli`), --json.
 *
 * With --json every result is JSON: one document for deposit/reinforce/detect/evaporate, one
 * line per event for watch (`{"event":"deposited",...}`), and `{"ok":false,"error":{code,message}}`
 * on a refusal (exit 1) or a usage error (code `usage`, exit 2; the usage text is in `details`).
 */
import { parseArgs } from "node:util"
import type { NatsConnection } from "@nats-io/nats-core"
import { PheromoneError, isPheromoneError, type PheromoneType, type StrengthLevel } from "../../subjects/pheromones.ts"
import { createPheromones, type TrailRef } from "../stigmergy/pheromones.ts"
import type { Evaporation, Trail } from "../stigmergy/trail.ts"

export interface PheromoneCommandIO {
  readonly nc: NatsConnection
  readonly json: boolean
  readonly out: (s: string) => void
  /** Where usage and error text go when not --json (default: `out`). */
  readonly err?: (s: string) => void
  /** Ends `watch` (default: SIGINT). */
  readonly signal?: AbortSignal
  /** Tenant when --tenant is not given (default `default`). */
  readonly tenant?: string
}

export const PHEROMONE_USAGE = `usage: ants pheromone <command> [options]
  deposit   --type T --location L [--strength S] [--ttl D] [--decay linear|exponential] [--id X] [--data JSON] [--reinforce]
  reinforce <key> | --location L --id X  [--strength S] [--ttl D] [--data JSON]
  detect    [--location L] [--types a,b] [--min S] [--limit N] [--exact]
  watch     [--location L] [--types a,b] [--count N] [--timeout D]
  evaporate <key> | --location L --id X
options: --tenant T  --emitter E  --json
types: task resource danger success capability load coordination
strength S: 0..1 or trace|low|medium|high|critical; durations D: 500ms, 60s, 5m, 1h or milliseconds`

const OPTIONS = {
  tenant: { type: "string" },
  emitter: { type: "string" },
  json: { type: "boolean" },
  type: { type: "string" },
  types: { type: "string" },
  location: { type: "string" },
  strength: { type: "string" },
  min: { type: "string" },
  ttl: { type: "string" },
  decay: { type: "string" },
  id: { type: "string" },
  data: { type: "string" },
  reinforce: { type: "boolean" },
  exact: { type: "boolean" },
  limit: { type: "string" },
  count: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const

class UsageError extends Error {}

/** Prints a usage error: one JSON document with --json, else the message and the usage text. */
function usageError(io: PheromoneCommandIO, json: boolean, message: string): number {
  if (json) io.out(JSON.stringify({ ok: false, error: { code: "usage", message, details: { usage: PHEROMONE_USAGE } } }))
  else (io.err ?? io.out)(`${message}\n${PHEROMONE_USAGE}`)
  return 2
}

export async function pheromoneCommand(argv: string[], io: PheromoneCommandIO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    // the arguments did not parse, so look for --json by hand
    return usageError(io, io.json || argv.includes("--json"), (e as Error).message)
  }
  const { values: v, positionals } = parsed
  const json = io.json || v.json === true
  const [command, ...rest] = positionals
  if (v.help) {
    io.out(PHEROMONE_USAGE)
    return 0
  }
  if (!command) return usageError(io, json, "a command is needed")
  try {
    const ph = createPheromones(io.nc, { tenant: v.tenant ?? io.tenant, emitter: v.emitter ?? "cli" })
    const target = (): TrailRef => {
      if (rest[0]) return rest[0]
      if (v.location && v.id) return { location: v.location, id: v.id }
      throw new UsageError(`${command} needs a key or --location and --id`)
    }
    switch (command) {
      case "deposit": {
        if (!v.type || !v.location) throw new UsageError("deposit needs --type and --location")
        const trail = await ph.deposit({
          type: v.type,
          location: v.location,
          strength: strength(v.strength),
          ttlMs: duration(v.ttl),
          decay: v.decay as never,
          id: v.id,
          data: jsonData(v.data),
          onExisting: v.reinforce ? "reinforce" : "replace",
        })
        io.out(json ? JSON.stringify(trail) : `${trail.reinforcements > 0 ? "reinforced" : "deposited"} ${describe(trail)}`)
        return 0
      }
      case "reinforce": {
        const trail = await ph.reinforce(target(), { strength: strength(v.strength), ttlMs: duration(v.ttl), data: jsonData(v.data) })
        io.out(json ? JSON.stringify(trail) : `reinforced ${describe(trail)} (${trail.reinforcements} reinforcements)`)
        return 0
      }
      case "detect": {
        const trails = await ph.detect({
          location: v.location,
          types: list(v.types),
          minStrength: strength(v.min),
          limit: integer(v.limit, "--limit"),
          exact: v.exact === true,
        })
        if (json) io.out(JSON.stringify(trails))
        else if (trails.length === 0) io.out("no live trails")
        else for (const t of trails) io.out(describe(t))
        return 0
      }
      case "evaporate": {
        const removed = await ph.evaporate(target())
        io.out(json ? JSON.stringify({ evaporated: removed }) : removed ? "evaporated" : "no such trail")
        return 0
      }
      case "watch":
        return await watch(ph, v, io, json)
      default:
        throw new UsageError(`unknown command "${command}"`)
    }
  } catch (e) {
    if (e instanceof UsageError) return usageError(io, json, e.message)
    if (isPheromoneError(e)) {
      if (json) io.out(JSON.stringify({ ok: false, error: { code: e.code, message: e.message } }))
      else (io.err ?? io.out)(`error (${e.code}): ${e.message}`)
      return 1
    }
    throw e
  }
}

async function watch(
  ph: ReturnType<typeof createPheromones>,
  v: { location?: string; types?: string; count?: string; timeout?: string },
  io: PheromoneCommandIO,
  json: boolean,
): Promise<number> {
  const max = integer(v.count, "--count")
  const timeoutMs = duration(v.timeout)
  let seen = 0
  let finish!: () => void
  const done = new Promise<void>((r) => (finish = r))
  const emit = (event: string, body: Trail | Evaporation, line: string) => {
    io.out(json ? JSON.stringify({ event, ...body }) : `${event} ${line}`)
    if (max !== undefined && ++seen >= max) finish()
  }
  const w = await ph.watch(
    {
      deposited: (t) => emit("deposited", t, describe(t)),
      reinforced: (t) => emit("reinforced", t, `${describe(t)} (${t.reinforcements} reinforcements)`),
      evaporated: (e) => emit("evaporated", e, `${e.key} (${e.type ?? "?"}, ${e.reason})`),
    },
    { location: v.location, types: list(v.types) },
  )
  if (!json) io.out(`watching ${ph.tenant}${v.location ? `.${v.location}` : ""} (Ctrl-C to stop)`)
  const timer = timeoutMs === undefined ? undefined : setTimeout(finish, timeoutMs)
  const onSigint = () => finish()
  if (io.signal) io.signal.addEventListener("abort", onSigint, { once: true })
  else process.once("SIGINT", onSigint)
  try {
    await done
  } finally {
    if (timer) clearTimeout(timer)
    if (!io.signal) process.off("SIGINT", onSigint)
    await w.stop()
  }
  return 0
}

function describe(t: Trail): string {
  return `${t.key}  ${t.type}  ${t.current.toFixed(3)}/${t.strength.toFixed(3)}  age ${(t.ageMs / 1000).toFixed(1)}s of ${(t.ttlMs / 1000).toFixed(0)}s ${t.decay}`
}

function strength(s: string | undefined): number | StrengthLevel | undefined {
  if (s === undefined) return undefined
  const n = Number(s)
  // Not a number: passed on as a level name, which the API validates.
  return s.trim() !== "" && Number.isFinite(n) ? n : (s as StrengthLevel)
}

function list(s: string | undefined): PheromoneType[] | undefined {
  return s === undefined ? undefined : (s.split(",").map((x) => x.trim()).filter(Boolean) as PheromoneType[])
}

function integer(s: string | undefined, name: string): number | undefined {
  if (s === undefined) return undefined
  const n = Number(s)
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer`)
  return n
}

/** `500ms`, `60s`, `5m`, `1h` or plain milliseconds. */
export function duration(s: string | undefined): number | undefined {
  if (s === undefined) return undefined
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim())
  if (!m) throw new UsageError(`"${s}" is not a duration (500ms, 60s, 5m, 1h)`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"]
  return Number(m[1]) * unit
}

function jsonData(s: string | undefined): unknown {
  if (s === undefined) return undefined
  try {
    return JSON.parse(s)
  } catch {
    throw new PheromoneError("invalid_data", `--data is not JSON: ${s}`)
  }
}
