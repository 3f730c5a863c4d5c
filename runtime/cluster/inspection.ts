/**
 * What a node answers about itself: its membership record with counts of actors by state
 * (ants._sys.nodes.members, ants._sys.node.<id>.members) and the actors it holds
 * (ants._sys.nodes.actors, body `{"type"?,"tenant"?,"limit"?}`). Every node answers the
 * broadcast; inspect-client.ts gathers the replies.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core"
import { NODES_ACTORS_SUBJECT, NODES_MEMBERS_SUBJECT, nodeActorsSubject, nodeMembersSubject } from "../../subjects/cluster.ts"
import { encodeError, encodeOk } from "../../subjects/envelope.ts"
import type { LocalActors } from "./local-actors.ts"
import type { Guarantees } from "./guarantees.ts"
import type { UnservedCounts } from "./unserved.ts"

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
  /** Per hosted type: actors by state, and the version of the type this node runs (1 when the node predates versions). */
  readonly types: Record<string, { active: number; idle: number; warming: number; sleeping: number; version?: number }>
  readonly leases: number
  readonly takeovers: number
  readonly forwarded: number
  readonly handedOver: number
  /** Durable mail this node delivered, retried (nak), dead-lettered, and is delivering now (unacked). */
  readonly mail: { delivered: number; retried: number; deadLettered: number; inflight: number } | null
  /** Messages refused while this node was out of touch with the swarm (also in `messages`, code `unavailable`). */
  readonly refusedOutOfTouch: number
  /** Unserved hints this node took (unserved.ts): received, members it pinged for them, members it found gone and removed. */
  readonly unserved: UnservedCounts
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
  readonly actors: Pick<LocalActors, "census" | "list">
  /** Read at each request: decided at start-up, once the runtime's stores exist. */
  readonly guarantees: () => Guarantees
  readonly snapshot: () => InspectionSnapshot
}

const decoder = new TextDecoder()

export function createInspection(d: InspectionDeps) {
  const info = (): NodeMembersInfo => ({ node: d.node, incarnation: d.incarnation, pid: process.pid, ...d.snapshot(), types: d.actors.census(), guarantees: d.guarantees() })

  const actors = (filter: ActorFilter = {}) => {
    const limit = filter.limit ?? 10_000
    const out: ActorInfo[] = []
    let truncated = false
    for (const a of d.actors.list(filter.type || undefined)) {
      if (filter.tenant && filter.tenant !== a.tenant) continue
      if (out.length >= limit) {
        truncated = true
        continue
      }
      out.push({ tenant: a.tenant, type: a.type, id: a.id, state: a.state, node: d.node })
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

  const answerMembers = (_e: unknown, m: Msg) => answer(m, info)
  const answerActors = (_e: unknown, m: Msg) =>
    answer(m, () => {
      let filter: ActorFilter = {}
      try {
        if (m.data.length > 0) filter = JSON.parse(decoder.decode(m.data))
      } catch {
        filter = {}
      }
      return { node: d.node, ...actors(filter) }
    })

  return {
    info,
    actors,
    /** Answers the broadcast and this node's own inspection subjects; returns the subscriptions. */
    listen: (nc: NatsConnection): Subscription[] => [
      nc.subscribe(NODES_MEMBERS_SUBJECT, { callback: answerMembers }),
      nc.subscribe(nodeMembersSubject(d.node), { callback: answerMembers }),
      nc.subscribe(NODES_ACTORS_SUBJECT, { callback: answerActors }),
      nc.subscribe(nodeActorsSubject(d.node), { callback: answerActors }),
    ],
  }
}
