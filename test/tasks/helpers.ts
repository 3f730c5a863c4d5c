/** Shared bits of the task tests: a capability per test title, fast retry settings. */
import type { NatsConnection } from "@nats-io/transport-node"
import { jetstreamManager } from "@nats-io/jetstream"
import { TASKS_STREAM } from "../../subjects/tasks.ts"
import { startTaskEngine, type TaskEngine } from "../../runtime/tasks/engine.ts"
import type { WorkerEvent } from "../../runtime/tasks/worker.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"

/** A capability unique to one test, derived from its title. */
export function capabilityFor(title: string): string {
  return `t.${title.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60)}`
}

/** Retries in tens of milliseconds instead of seconds. */
export const FAST = { backoff: { initialMs: 30, multiplier: 2, maxMs: 200 }, idlePollMs: 1_000 } as const

/** Messages stored for one capability (all lanes). */
export async function storedFor(nc: NatsConnection, tenant: string, capability: string): Promise<number> {
  const jsm = await jetstreamManager(nc)
  // subjects_filter narrows the per-subject counts, not state.messages
  const info = await jsm.streams.info(TASKS_STREAM, { subjects_filter: `ants.${tenant}.task.>` })
  const base = `ants.${tenant}.task.${capability}`
  return Object.entries(info.state.subjects ?? {})
    .filter(([s]) => s === base || s.startsWith(`${base}._`))
    .reduce((n, [, c]) => n + c, 0)
}

export interface TaskFixture {
  server: NatsServer
  nc: NatsConnection
  engine: TaskEngine
}

/** One nats-server for the test file, a connection and a task engine with fast retries. */
export async function startTaskFixture(): Promise<TaskFixture> {
  const server = await natsFixture()
  const nc = await rawConnect(server.url)
  const engine = await startTaskEngine(nc, { workerDefaults: FAST })
  return { server, nc, engine }
}

export async function stopTaskFixture(f: Partial<TaskFixture>): Promise<void> {
  await f.engine?.stop()
  await f.nc?.close()
  await f.server?.stop()
}

/**
 * A claim that moves on: worker A (its own connection and engine) takes the task, stalls past
 * its 1 s claim with no keep-alive and then settles it with `late`; worker B, started once A
 * runs, takes the redelivery and answers "from B". Returns the task id and A's events.
 */
export async function staleClaimRace(
  server: NatsServer,
  engine: TaskEngine,
  capability: string,
  late: () => Promise<unknown>,
): Promise<{ id: string; events: WorkerEvent[]; stop: () => Promise<void> }> {
  const ncA = await rawConnect(server.url)
  const ncB = await rawConnect(server.url)
  const engA = await startTaskEngine(ncA, { scheduler: false, statusResponder: false })
  const engB = await startTaskEngine(ncB, { scheduler: false, statusResponder: false })
  const events: WorkerEvent[] = []
  let aStarted = false
  const a = await engA.serveCapability(
    capability,
    async () => {
      aStarted = true
      await new Promise((r) => setTimeout(r, 2_500)) // stalls past its claim (no keep-alive)
      return await late()
    },
    { ackWaitMs: 1_000, keepAlive: false, concurrency: 1, onEvent: (e) => events.push(e), workerId: "A" },
  )
  const r = await engine.submit({ capability, payload: {} })
  await waitUntil(() => aStarted)
  const b = await engB.serveCapability(capability, async () => "from B", { ackWaitMs: 1_000, workerId: "B", idlePollMs: 1_000 })
  return {
    id: r.id,
    events,
    async stop() {
      await a.stop()
      await b.stop()
      await engA.stop()
      await engB.stop()
      await ncA.close()
      await ncB.close()
    },
  }
}
