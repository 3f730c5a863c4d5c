/**
 * What the node's main thread and a lane's reader thread say to each other (lane-thread.ts on
 * the main side, lane-reader.ts in the worker). Plain data only: everything crosses a
 * `MessagePort` by structured clone (message bodies are transferred, not copied).
 */
import type { Credentials } from "../security/connection-options.ts"

/** What the reader thread is started with. */
export interface LaneThreadData {
  /** The reader module's URL (lane-reader.ts or its built .js): the bootstrap imports it. */
  readonly module: string
  readonly servers: string
  /** The connection's name (`ants-<node>-lane-<n>`), as the server lists it. */
  readonly name: string
  readonly credentials: Credentials
}

/** A message the reader passes on: subscription, subject, reply ("" for none), body, headers, and whether its rate tokens are already taken. */
export type Forwarded = [sub: number, subject: string, reply: string, data: Uint8Array, headers: Array<[string, string[]]> | undefined, prepaid: boolean]

/** Messages the reader refused for their rate, by type and tenant: the count, the reason, and one of their subjects. */
export type Refused = [type: string, tenant: string, count: number, reason: string, subject: string]

export type ToReader =
  /** Subscribes partition `p` (in its queue group) as subscription `sub`. */
  | { readonly op: "sub"; readonly sub: number; readonly p: number }
  /** Drains subscription `sub`; answered `drained` after its last message. */
  | { readonly op: "drain"; readonly sub: number }
  /** Unsubscribes `sub` at once; also answered `drained` (after what it had delivered). */
  | { readonly op: "unsub"; readonly sub: number }
  /** Answered `flushed` once the server has seen everything sent before. */
  | { readonly op: "flush"; readonly id: number }
  /** Stop reading the socket (a move's old subscription drains on another connection) / read again. */
  | { readonly op: "hold" }
  | { readonly op: "release" }
  /**
   * Rate tokens for an actor (its `typeKey`): `n` taken from the node's buckets; with none, how
   * long to refuse, the reason and the `overloaded` envelope an ask is answered with (made on the
   * main thread: the reader loads no schema code); -1: the main thread checks its messages' rate itself.
   */
  | { readonly op: "grant"; readonly key: string; readonly n: number; readonly retryMs: number; readonly reason: string; readonly answer?: Uint8Array }
  /** `n` forwarded messages dispatched by the main thread. */
  | { readonly op: "ack"; readonly n: number }
  | { readonly op: "close" }

export type FromReader =
  | { readonly op: "status"; readonly up: boolean; readonly info?: { readonly server_id: string; readonly client_id: number } }
  | { readonly op: "failed"; readonly error: string }
  | { readonly op: "batch"; readonly msgs: Forwarded[]; readonly refused: Refused[] }
  /** The reader needs rate tokens for this actor before it passes its messages on. */
  | { readonly op: "want"; readonly key: string; readonly tenant: string }
  | { readonly op: "drained"; readonly sub: number }
  | { readonly op: "flushed"; readonly id: number }

/** Messages per batch posted to the main thread (about one 8 KiB read slice of small messages). */
export const BATCH = 64
/** Forwarded messages not yet dispatched by the main thread past which the reader stops reading its socket. */
export const MAX_UNACKED = 16 * BATCH
/** Messages held for one actor while its rate tokens are asked for; past this they go on without (the main thread checks their rate). */
export const WAITING_MAX = 64 * BATCH
/** How much lower than the main thread's the reader thread's CPU priority is (`nice`, Linux). */
export const READER_NICE = 10
