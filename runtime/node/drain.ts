/**
 * A node's drain, in its order: hand partitions and actors over, stop accepting, stop the task
 * engine and stigmergy, unsubscribe, let in-flight work finish, checkpoint every actor, close
 * memory, leave the swarm, close the connection. When the connection is gone (the server died, the network
 * broke) nothing drain sends can get out and flush/KV calls would wait for a reconnect forever,
 * so every step is bounded: a step gives up (with a warning) once the connection has been gone
 * for `disconnectedMs`, or after three shutdown timeouts (the steps bound their own waits by the
 * shutdown timeout while connected; this is the safety net).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { TypeHost } from "../actor/type-host.ts"
import { finalCheckpoint } from "../actor/final-checkpoint.ts"
import type { Logger } from "./options.ts"

export interface DrainSteps {
  readonly nc: NatsConnection
  readonly log: Logger
  readonly hosts: ReadonlyMap<string, TypeHost>
  readonly shutdownTimeoutMs: number
  readonly disconnectedMs: number
  /** Whether the node opened its connection (then it closes it). */
  readonly ownConnection: boolean
  handOver(): Promise<unknown>
  stopAccepting(): void
  stopTasks(graceMs: number): Promise<unknown>
  closeStigmergy(): Promise<unknown>
  unsubscribe(): void
  /** Resolves when a cell settles, or after `ms` at the latest. */
  settled(ms: number): Promise<void>
  leaveSwarm(): Promise<unknown>
  closeMemory(): Promise<unknown>
  stopEmbedded(): Promise<void>
}

export interface Drain {
  /** Starts the drain once; later calls return the same promise. */
  drain(): Promise<void>
  /** Resolves when a drain has finished. */
  readonly closed: Promise<void>
}

export function createDrain(s: DrainSteps): Drain {
  const { nc, log, hosts, shutdownTimeoutMs } = s
  let lostAt: number | undefined
  void (async () => {
    for await (const st of nc.status()) {
      if (st.type === "disconnect" || st.type === "close") lostAt ??= Date.now()
      else if (st.type === "reconnect") lostAt = undefined
    }
  })().catch(() => undefined)
  const connectionGone = () => nc.isClosed() || (lostAt !== undefined && Date.now() - lostAt >= s.disconnectedMs)
  const stepLimitMs = 3 * shutdownTimeoutMs
  const bounded = async (what: string, work: () => Promise<unknown>): Promise<boolean> => {
    const started = Date.now()
    let done = false
    const w = (async () => work())().then(
      () => void (done = true),
      (e) => {
        done = true
        log("warn", `${what} failed on drain: ${(e as Error).message}`)
      },
    )
    while (!done) {
      const gone = connectionGone()
      if (gone || Date.now() - started >= stepLimitMs) {
        log("warn", `drain: ${what} did not finish within ${Date.now() - started} ms${gone ? " (the NATS connection is gone)" : ""}; going on`)
        return false
      }
      let t: ReturnType<typeof setTimeout> | undefined
      await Promise.race([w, new Promise<void>((r) => (t = setTimeout(r, 50)))])
      clearTimeout(t)
    }
    return true
  }
  const busyCells = () => {
    let n = 0
    for (const h of hosts.values()) for (const c of h.cells.values()) if (c.busy) n++
    return n
  }
  let resolveClosed!: () => void
  const closed = new Promise<void>((r) => (resolveClosed = r))
  let closing: Promise<void> | undefined
  const drain = () =>
    (closing ??= (async () => {
      // graceful leave first: partitions and actors are handed over, so asks in flight succeed
      await bounded("hand-over", () => s.handOver())
      s.stopAccepting()
      // running tasks finish within the shutdown timeout; the rest are handed back for redelivery
      await bounded("stopping the task engine", () => s.stopTasks(Math.floor(shutdownTimeoutMs * 0.8)))
      await bounded("closing stigmergy", () => s.closeStigmergy())
      s.unsubscribe()
      // let messages already delivered to us (in the socket buffer) reach their mailboxes
      await bounded("flush", () => nc.flush())
      const started = Date.now()
      const deadline = started + shutdownTimeoutMs
      while (busyCells() > 0 && Date.now() < deadline && !connectionGone()) await s.settled(50)
      if (busyCells() > 0) log("warn", `drain: ${busyCells()} actor(s) still busy after ${Date.now() - started} ms; closing anyway`)
      await bounded("checkpoints", async () => {
        for (const h of hosts.values()) {
          if (h.checkpointPolicy === "never") continue
          // forced: an unchanged state still gets its cost accounting written
          // a few tries each, then a clear error (final-checkpoint.ts); the drain goes on
          await Promise.all([...h.cells.values()].map((c) => finalCheckpoint(c).catch((e: unknown) => log("error", `drain: ${(e as Error).message}`))))
        }
      })
      // after the actors settled: a handler finishing its turn may still be writing memory
      await bounded("closing memory", () => s.closeMemory())
      await bounded("leaving the swarm", () => s.leaveSwarm())
      if (s.ownConnection && !(await bounded("closing the connection", () => nc.drain()))) await nc.close().catch(() => undefined)
      await s.stopEmbedded()
      resolveClosed()
    })())
  return { drain, closed }
}
