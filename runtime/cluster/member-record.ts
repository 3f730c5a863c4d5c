/**
 * What a member is: the defaults of membership and the record each node keeps under its key in
 * `ants_members` (plain data, shared by membership, placement and inspection).
 */

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
  /** Ack subjects of the tasks the node holds (at most 256): a survivor hands them back when it dies. */
  readonly tasks?: ReadonlyArray<string>
}

export interface Member {
  record: MemberRecord
  /** Local time this node last heard from the member. */
  lastSeen: number
}
