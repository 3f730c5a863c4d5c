/**
 * The engine's side of the cluster's port (runtime/cluster/local-actors.ts `LocalActors`): the
 * actors this node runs, seen through their hosts, and the engine's part of a hand-over
 * (finish what is queued, checkpoint with a few tries, stop). The node passes the result to the cluster; this
 * file does not import the cluster (the compiler checks the fit where the node wires them).
 */
import type { Msg } from "@nats-io/nats-core"
import type { Inbound } from "../../subjects/inbound.ts"
import type { ActorCell } from "./cell.ts"
import type { Envelope } from "./mailbox.ts"
import type { TypeHost } from "./type-host.ts"
import { finalCheckpoint } from "./final-checkpoint.ts"

/** An activation handed out by `localActors` (the cell itself, narrowed). */
interface Activation {
  readonly type: string
  readonly key: string
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** The hosts' actors as the cluster's port; `dispatch` is the node's dispatch path. */
export function localActors(hosts: ReadonlyMap<string, TypeHost>, dispatch: (msg: Msg, routed?: Inbound) => void) {
  /** The live cell an activation stands for, with its host; undefined once it is gone. */
  const find = (a: Activation): { host: TypeHost; cell: ActorCell } | undefined => {
    const host = hosts.get(a.type)
    const cell = host?.cells.get(a.key)
    return host !== undefined && cell !== undefined && cell === a ? { host, cell } : undefined
  }

  return {
    types: (): Iterable<string> => hosts.keys(),
    versions(): Record<string, number> {
      const out: Record<string, number> = {}
      for (const [name, host] of hosts) out[name] = host.definition.version ?? 1
      return out
    },
    has: (type: string, key: string): boolean => hosts.get(type)?.cells.has(key) === true,
    *activations(): Generator<ActorCell> {
      for (const host of hosts.values()) yield* host.cells.values()
    },
    size(): number {
      let n = 0
      for (const h of hosts.values()) n += h.cells.size
      return n
    },
    dispatch,

    async handOver(a: Activation, deadline: number, why: () => string | undefined): Promise<boolean> {
      const found = find(a)
      if (found === undefined) return false
      const { host, cell } = found
      const stopped = () => (cell.status as string) === "stopped"
      for (;;) {
        while ((cell.busy || cell.status === "warming") && !stopped() && Date.now() < deadline) await sleep(5)
        if (stopped()) return false
        if (host.checkpointPolicy !== "never") {
          // forced: keeps its cost accounting; a few tries, then the activation ends without it (said loudly)
          await finalCheckpoint(cell).catch((e: unknown) => {
            host.stop(cell, (e as Error).message)
            throw e
          })
        }
        if (stopped()) return false
        if ((cell.busy || cell.status === "warming") && Date.now() < deadline) continue
        break
      }
      const reason = why()
      if (reason === undefined) return false
      host.stop(cell, reason)
      return true
    },

    stop(a: Activation, reason: string): void {
      const found = find(a)
      if (found) found.host.stop(found.cell, reason)
    },

    takeQueued(a: Activation, heldMaxMs = Infinity): Envelope[] {
      const found = find(a)
      if (found === undefined) return []
      const now = performance.now()
      const kept: Envelope[] = []
      for (const env of found.cell.takeQueued()) {
        // an ask held past `heldMaxMs` (asks carry the time the node took them): its caller has most likely given up
        const held = env.at === undefined ? 0 : now - env.at
        if (held > heldMaxMs) {
          found.host.replyError(env, "unavailable", `${a.type}/${found.cell.id}: held ${Math.round(held)} ms on node ${found.host.node.id} while its lease was in question, then found active elsewhere; not delivered, retry`)
        } else {
          found.host.node.ledger.forwarded(env.ticket)
          kept.push(env)
        }
      }
      return kept
    },

    forgetSleeping(keep: (type: string, id: string) => boolean): void {
      for (const [type, host] of hosts) host.forgetSleeping((id) => keep(type, id))
    },

    census() {
      const types: Record<string, { active: number; idle: number; warming: number; sleeping: number; version: number }> = {}
      for (const [name, host] of hosts) {
        // the version of the type's code on this node: during a rolling upgrade nodes differ
        const c = { active: 0, idle: 0, warming: 0, sleeping: host.sleeping.size, version: host.definition.version ?? 1 }
        for (const cell of host.cells.values()) {
          if (cell.status === "active") c.active++
          else if (cell.status === "idle") c.idle++
          else if (cell.status === "warming") c.warming++
        }
        types[name] = c
      }
      return types
    },

    *list(type?: string): Generator<{ tenant: string; type: string; id: string; state: string }> {
      for (const [name, host] of hosts) {
        if (type && type !== name) continue
        for (const cell of host.cells.values()) yield { tenant: cell.tenant, type: name, id: cell.id, state: cell.status }
        for (const { tenant, id } of host.sleepingActors()) yield { tenant, type: name, id, state: "sleeping" }
      }
    },
  }
}
