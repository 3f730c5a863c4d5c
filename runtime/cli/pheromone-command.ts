/**
 * `ants pheromone deposit|reinforce|detect|watch|evaporate`: the pheromone API from a shell
 * (declared in commands.ts as PHEROMONE). Exit codes: 0 ok, 1 refused by the API, 2 usage.
 *
 * With --json every result is JSON: one document for deposit/reinforce/detect/evaporate, one
 * line per event for watch (`{"event":"deposited",...}`), and `{"ok":false,"error":{code,message}}`
 * on a refusal (exit 1) or a usage error (code `usage`, exit 2; the usage lines in `details`).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { isPheromoneError, type PheromoneType } from "../../subjects/pheromones.ts"
import { createPheromones, type TrailRef } from "../stigmergy/pheromones.ts"
import type { Evaporation, Trail } from "../stigmergy/trail.ts"
import type { Parsed } from "./command-spec.ts"
import { PHEROMONE } from "./commands.ts"
import { durationMs } from "./option.ts"
import { runCommand, type CommandIo } from "./run-command.ts"
import { UsageError } from "./usage-error.ts"

export interface PheromoneCommandIO extends CommandIo {
  readonly nc: NatsConnection
  /** Ends `watch` (default: SIGINT). */
  readonly signal?: AbortSignal
}

type Values = Parsed<(typeof PHEROMONE)["options"]>["values"]

/** `ants pheromone ...` from code: the same parsing, help and exit codes as the shell. */
export async function pheromoneCommand(argv: string[], io: PheromoneCommandIO): Promise<number> {
  return await runCommand(PHEROMONE, argv, io, (parsed, json) => runPheromone(parsed, { ...io, json }))
}

/** Runs a parsed `ants pheromone` command on the connection. */
export async function runPheromone(parsed: Parsed<(typeof PHEROMONE)["options"]>, io: PheromoneCommandIO): Promise<number> {
  const { subcommand: command, args: rest, values: v } = parsed
  const json = io.json
  try {
    const ph = createPheromones(io.nc, { tenant: v.tenant, emitter: v.emitter })
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
          strength: v.strength,
          ttlMs: v.ttl,
          decay: v.decay,
          id: v.id,
          data: v.data,
          onExisting: v.reinforce ? "reinforce" : "replace",
        })
        io.out(json ? JSON.stringify(trail) : `${trail.reinforcements > 0 ? "reinforced" : "deposited"} ${describe(trail)}`)
        return 0
      }
      case "reinforce": {
        const trail = await ph.reinforce(target(), { strength: v.strength, ttlMs: v.ttl, data: v.data })
        io.out(json ? JSON.stringify(trail) : `reinforced ${describe(trail)} (${trail.reinforcements} reinforcements)`)
        return 0
      }
      case "detect": {
        const trails = await ph.detect({
          location: v.location,
          types: v.types as PheromoneType[] | undefined,
          minStrength: v.min,
          limit: v.limit,
          exact: v.exact,
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
      default:
        return await watch(ph, v, io, json)
    }
  } catch (e) {
    if (isPheromoneError(e)) {
      if (json) io.out(JSON.stringify({ ok: false, error: { code: e.code, message: e.message } }))
      else (io.err ?? io.out).call(io, `error (${e.code}): ${e.message}`)
      return 1
    }
    throw e
  }
}

async function watch(
  ph: ReturnType<typeof createPheromones>,
  v: Values,
  io: PheromoneCommandIO,
  json: boolean,
): Promise<number> {
  const max = v.count
  const timeoutMs = v.timeout
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
    { location: v.location, types: v.types as PheromoneType[] | undefined },
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

/** `500ms`, `60s`, `5m`, `1h` or plain milliseconds (undefined stays undefined). */
export function duration(s: string | undefined): number | undefined {
  if (s === undefined) return undefined
  const ms = durationMs(s)
  if (ms === undefined) throw new UsageError(`"${s}" is not a duration (500ms, 60s, 5m, 1h)`)
  return ms
}
