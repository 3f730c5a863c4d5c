/**
 * The limits of one node, all in one place with their defaults written down. Every figure is
 * generous: a well-behaved swarm never meets them; a hostile or broken sender meets a clear
 * error (`invalid_message`, `too_large`, `overloaded`, `timeout`) before it can take memory,
 * CPU or the event loop from anyone else.
 */
import type { RateLimit } from "./token-bucket.ts"

export interface NodeLimits {
  /** Largest message body. Default: the server's max_payload (1 MiB unless configured). */
  readonly maxBodyBytes?: number
  /** Deepest JSON nesting of a message or a state. Default 64. */
  readonly maxDepth?: number
  /** Object keys in one message. Default 100,000. */
  readonly maxKeys?: number
  /** Bytes of message bodies queued per actor (beyond: `overloaded`). Default 16 MiB. */
  readonly mailboxBytes?: number
  /** Bytes of message bodies queued on the node, all actors together (beyond: `overloaded`). Default 256 MiB. */
  readonly nodeQueueBytes?: number
  /** Messages per second per tenant (token bucket). Default 50,000/s, burst 100,000. */
  readonly tenantRate?: RateLimit
  /** Per-tenant overrides of `tenantRate` (a tenant's quota). */
  readonly tenantRates?: Readonly<Record<string, RateLimit>>
  /** Messages per second per actor. Default 20,000/s, burst 40,000. */
  readonly agentRate?: RateLimit
  /** How long a handler may run by default (types override per tag). Default 30,000 ms. */
  readonly handlerTimeoutMs?: number
  /** A handler holding the event loop longer than this is reported (supervisor event, counter). Default 200 ms. */
  readonly loopBlockMs?: number
}

export const NODE_LIMIT_DEFAULTS = {
  maxBodyBytes: 1_048_576,
  maxDepth: 64,
  maxKeys: 100_000,
  mailboxBytes: 16 * 1024 * 1024,
  nodeQueueBytes: 256 * 1024 * 1024,
  tenantRate: { ratePerSec: 50_000, burst: 100_000 },
  agentRate: { ratePerSec: 20_000, burst: 40_000 },
  handlerTimeoutMs: 30_000,
  loopBlockMs: 200,
} as const satisfies Required<Omit<NodeLimits, "tenantRates">>
