/**
 * Helpers the scenarios share: connections, a quiet node logger, defaults that depend on
 * --quick, and the guarded loading of runtime modules that may not have landed yet.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { NatsConnection } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"
import { connectionOptions } from "../runtime/security/connection-options.ts"
import { builtPath, REPO_ROOT } from "./children.ts"
import type { ScenarioContext } from "./types.ts"

/**
 * A plain nats.js connection, as the raw baselines and outside callers use; it authenticates like
 * every ANTS connection (credentials in the URL, NATS_NKEY and the other `nats` CLI variables),
 * so `--nats` may name an authenticated server.
 */
export async function rawConnection(url: string, name: string): Promise<NatsConnection> {
  return await connect({ ...connectionOptions(url).options, name, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
}

/** Node logger for bench runs: warnings and errors only, through the bench's log. */
export function benchLogger(ctx: ScenarioContext) {
  return (level: "info" | "warn" | "error", message: string) => {
    if (level === "info") return
    if (process.env.ANTS_BENCH_VERBOSE) ctx.log(`node ${level}: ${message}`)
  }
}

/** Rounds of baseline/ANTS alternation. */
export function rounds(ctx: ScenarioContext, full = 5, quick = 2): number {
  return ctx.options.rounds ?? (ctx.quick ? quick : full)
}

/** One round's measuring window, ms (--duration: ask, tell, pheromone deposit and reinforce). */
export function duration(ctx: ScenarioContext, full = 2000, quick = 200): number {
  return ctx.options.durationMs ?? (ctx.quick ? quick : full)
}

/** Tasks per round (--tasks: tasks, swarm). */
export function tasks(ctx: ScenarioContext, full: number, quick: number): number {
  return ctx.options.tasks ?? (ctx.quick ? quick : full)
}

/**
 * Imports a runtime module by its path from the repository root when the file exists;
 * undefined when it does not (the capability has not landed yet).
 */
export async function importIfPresent<T = Record<string, unknown>>(relPath: string): Promise<T | undefined> {
  const abs = resolve(REPO_ROOT, builtPath(relPath))
  if (!existsSync(abs)) return undefined
  return (await import(pathToFileURL(abs).href)) as T
}

/**
 * The function `name` of the runtime module at `relPath`, for a scenario that needs it; when it
 * is missing the scenario is told to skip, saying what (`what`) is not there.
 */
export async function needFunction<F>(ctx: ScenarioContext, relPath: string, name: string, what: string): Promise<F | undefined> {
  const f = pickFunction<F>(await importIfPresent(relPath), name)
  if (!f) ctx.skip(`${what} have not landed yet (${relPath} ${name})`)
  return f
}

/** The first of `names` that `mod` exports as a function. */
export function pickFunction<F = (...args: any[]) => any>(mod: Record<string, unknown> | undefined, ...names: string[]): F | undefined {
  if (!mod) return undefined
  for (const n of names) if (typeof mod[n] === "function") return mod[n] as F
  return undefined
}

export const encoder = new TextEncoder()
export const decoder = new TextDecoder()
