/**
 * What a node answers about itself: its membership record with counts of actors by state
 * (ants._sys.nodes.members, ants._sys.node.<id>.members) and the actors it holds
 * (ants._sys.nodes.actors, body `{"type"?,"tenant"?,"limit"?}`). Every node answers the
 * broadcast; inspect-client.ts gathers the replies.
 */
import type { Msg } from "@nats-io/nats-core"
import { encodeError, encodeOk } from "../../subjects/envelope.ts"
import type { TypeHost } from "../actor/type-host.ts"
import type { Guarantees } from "./guarantees.ts"

/** A node's membership record as seen by inspection. */
export interface NodeMembersInfo {
  readonly node: string
  readonly incarnation: string
  readonly state: "up" | "leaving"
  readonly host: string
  readonly pid: number
  readonly startedAt: string
  /** Partitions this node is subscribed to. */
  readonly partitions: number[]
  /** Live members in this node's view. */
  readonly members: string[]
  readonly frozen: boolean
  readonly types: Record<string, { active: number; idle: number; warming: number; sleeping: number }>
  readonly leases: number
  readonly takeovers: number
  readonly forwarded: number
  readonly handedOver: number
  /** Durable mail this node delivered, retried (nak), dead-lettered, and is delivering now (unacked). */
  readonly mail: { delivered: number; retried: number; deadLettered: number; inflight: number } | null
  /** Messages refused while this node was out of touch with the swarm (also in `messages`, code `unavailable`). */
  readonly refusedOutOfTouch: number
  /** Every message the node received, all types and tenants: received = handled + forwarded + Σ rejected + inFlight. */
  readonly messages: MessageTotals | null
  readonly guarantees: Guarantees
}

/** A node's message accounting, summed over types and tenants (the node's stats have it per type and tenant). */
export interface MessageTotals {
  readonly received: number
  readonly handled: number
  readonly forwarded: number
  readonly inFlight: number
  readonly rejected: Record<string, number>
}

export interface ActorInfo {
  readonly tenant: string
  readonly type: string
  readonly id: string
  readonly state: string
  readonly node: string
}

export interface ActorFilter {
  readonly type?: string
  readonly tenant?: string
  /** Most actors one node lists (default 10 000). */
  readonly limit?: number
}

/** The parts of a node's record that change, read at each request. */
export type InspectionSnapshot = Omit<NodeMembersInfo, "node" | "incarnation" | "pid" | "types" | "guarantees">

export interface InspectionDeps {
  readonly node: string
  readonly incarnation: string
  readonly hosts: ReadonlyMap<string, TypeHost>
  /** Read at each request: decided at start-up, once the runtime's stores exist. */
  readonly guarantees: () => Guarantees
  readonly snapshot: () => InspectionSnapshot
}

const decoder = new TextDecoder()

export function createInspection(d: InspectionDeps) {
  const info = (): NodeMembersInfo => {
    const types: NodeMembersInfo["types"] = {}
    for (const [name, host] of d.hosts) {
      const c = { active: 0, idle: 0, warming: 0, sleeping: host.sleeping.size }
      for (const cell of host.cells.values()) {
        if (cell.status === "active") c.active++
        else if (cell.status === "idle") c.idle++
        else if (cell.status === "warming") c.warming++
      }
      types[name] = c
    }
    return { node: d.node, incarnation: d.incarnation, pid: process.pid, ...d.snapshot(), types, guarantees: d.guarantees() }
  }

  const actors = (filter: ActorFilter = {}) => {
    const limit = filter.limit ?? 10_000
    const out: ActorInfo[] = []
    let truncated = false
    for (const [name, host] of d.hosts) {
      if (filter.type && filter.type !== name) continue
      const push = (tenant: string, id: string, state: string) => {
        if (filter.tenant && filter.tenant !== tenant) return
        if (out.length >= limit) {
          truncated = true
          return
        }
        out.push({ tenant, type: name, id, state, node: d.node })
      }
      for (const cell of host.cells.values()) push(cell.tenant, cell.id, cell.status)
      for (const { tenant, id } of host.sleepingActors()) push(tenant, id, "sleeping")
    }
    return { actors: out, truncated }
  }

  const answer = (m: Msg, f: () => unknown) => {
    try {
      m.respond(encodeOk(f()))
    } catch (e) {
      try {
        m.respond(encodeError("unavailable", (e as Error).message))
      } catch {
        // closing
      }
    }
  }

  return {
    info,
    actors,
    answerMembers: (_e: unknown, m: Msg) => answer(m, info),
    answerActors: (_e: unknown, m: Msg) =>
      answer(m, () => {
        let filter: ActorFilter = {}
        try {
          if (m.data.length > 0) filter = JSON.parse(decoder.decode(m.data))
        } catch {
          filter = {}
        }
        return { node: d.node, ...actors(filter) }
      }),
  }
}
