/**
 * What a member is: the defaults of membership and the record each node keeps under its key in
 * `ants_members` (plain data, shared by membership, placement and inspection).
 */
import { hostname } from "node:os"

export const MEMBERSHIP_DEFAULTS = {
  heartbeatMs: 300,
  expiryMs: 1500,
  /** A member whose heartbeat times differ from the server's store times by more than this is warned about. */
  skewWarnMs: 1000,
} as const

export type MemberState = "up" | "leaving"

/** The JSON a node keeps under its key in `ants_members`. */
export interface MemberRecord {
  readonly v: 1
  readonly node: string
  /** Random per process: tells a restarted node with the same id from its previous life. */
  readonly incarnation: string
  /** `up` nodes own partitions; `leaving` nodes are handing theirs over (still alive). */
  readonly state: MemberState
  /** Agent types the node hosts (ownership of a type's actors is computed among these nodes). */
  readonly types: ReadonlyArray<string>
  /**
   * The version of each hosted type's code, when above 1 (absent: 1). Ownership of a type's
   * actors goes to the nodes running its highest version only (Membership.candidates), so during
   * a rolling upgrade an actor, once on the new version, is never handed back to older code
   * (type-versions.ts).
   */
  readonly versions?: Readonly<Record<string, number>>
  /** Partitions the node is subscribed to right now (the losing node waits for the gaining one). */
  readonly serving: ReadonlyArray<number>
  readonly startedAt: string
  readonly at: string
  readonly host: string
  readonly pid: number
  /** The node's connections to NATS when it wrote the entry (gone-check.ts tells a crash by them). */
  readonly conns?: ReadonlyArray<ConnRef>
  /** Ack subjects of the tasks the node holds (at most 256): a survivor hands them back when it dies. */
  readonly tasks?: ReadonlyArray<string>
}

/** One connection as the servers know it: the server's id and the client id it gave the connection. */
export interface ConnRef {
  readonly s: string
  readonly c: number
}

export interface Member {
  record: MemberRecord
  /** The revision of the member's entry that `record` came from. */
  revision: number
  /** Local time this node last heard from the member. */
  lastSeen: number
}

/** The entry's `versions`: only types above version 1, and nothing when there are none (entries stay as they were). */
export function versionsEntry(all: Readonly<Record<string, number>> | undefined): { versions?: Record<string, number> } {
  const above = Object.entries(all ?? {}).filter(([, v]) => v > 1)
  return above.length > 0 ? { versions: Object.fromEntries(above) } : {}
}

/** The record a node writes now (`at`, host and pid filled in; at most 256 held tasks). */
export function memberRecord(f: {
  node: string
  incarnation: string
  state: MemberState
  types: ReadonlyArray<string>
  versions: Readonly<Record<string, number>> | undefined
  serving: ReadonlyArray<number>
  startedAt: string
  tasks: ReadonlyArray<string> | undefined
  conns: ReadonlyArray<ConnRef>
}): MemberRecord {
  const { versions, tasks, ...rest } = f
  return {
    v: 1,
    ...rest,
    ...versionsEntry(versions),
    at: new Date().toISOString(),
    host: hostname(),
    pid: process.pid,
    ...(tasks && tasks.length > 0 ? { tasks: tasks.slice(0, 256) } : {}),
  }
}
