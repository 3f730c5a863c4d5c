/**
 * What a TypeHost needs from its node: a role interface in a file of its own, so the host and the
 * handler context can both name it without importing one another.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { Messaging } from "../agent/actor-context.ts"
import type { StateStore } from "./state-store.ts"
import type { Supervisor } from "./supervision.ts"
import type { Stigmergy } from "./artifact-delivery.ts"
import type { ActivationGuard } from "./activation-guard.ts"
import type { TypeStats } from "./type-stats.ts"
import type { NodeMemory } from "../memory/mod.ts"
import type { TenantScopes } from "./tenant-scope.ts"
import type { Models } from "../models/mod.ts"
import type { MessageLedger } from "../limits/message-ledger.ts"
import type { LoopMonitor } from "../cpu/loop-monitor.ts"
import type { AskLatency } from "../observability/collected-metric.ts"
import type { Sandbox } from "../sandbox/mod.ts"

export type { TypeStats }

/** What a TypeHost needs from its node (a narrow role interface). */
export interface HostNode {
  readonly id: string
  readonly nc: NatsConnection
  readonly messaging: Messaging
  readonly store: StateStore
  readonly supervisor: Supervisor
  /** Pheromones and workspace for actors (started with the node). */
  stigmergy(): Stigmergy
  /** The node's memory store, opened at the first call; each actor gets its own scoped view. */
  readonly memory: NodeMemory
  /** The node's models (`ctx.model`), absent when the node runs without. */
  readonly models?: Models
  /** The node's sandbox (`ctx.sandbox`, sandboxed agent types), absent when the node runs without one. */
  readonly sandbox?: Sandbox
  log(level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>): void
  /** Called when a cell finished its queued work (drain waits on this). */
  settled(): void
  /** Single activation across nodes (leases); absent when the node runs without a cluster. */
  readonly guard?: ActivationGuard
  /** What each tenant's actors act through (their own connection when the node has an auth folder). */
  readonly scopes?: TenantScopes
  /** Counts and records a topic event that could not be delivered (node stats `rejectedEvents`). */
  rejectedEvent?(subject: string, code: "invalid_message" | "invalid_subject" | "overloaded", message: string): void
  /** Where every message is accounted for (settled by the host's replies). */
  readonly ledger: MessageLedger
  /** The loop monitor's slot (cells mark the actor they run). */
  readonly monitor: LoopMonitor
  /** Mailbox bytes of the whole node, against its limit. */
  readonly budget: { bytes: number; readonly max: number }
  /** The node's limits, resolved. */
  readonly limits: ResolvedLimits
  /** Told of every lifecycle transition, after it is published (lasting cost accounting, runtime/elastic/cost-meter.ts). */
  transitioned?(a: { readonly tenant: string; readonly type: string; readonly id: string }, from: string, to: string, reason?: string, sleptHere?: boolean): void
  /** Where answered asks' latency is observed (`ants_ask_duration_seconds`); absent: not observed. */
  readonly askLatency?: AskLatency
}

/** The node's limits with every default filled in (limits/node-limits.ts), plus what the server allows. */
export interface ResolvedLimits {
  readonly maxBodyBytes: number
  readonly maxDepth: number
  readonly maxKeys: number
  readonly mailboxBytes: number
  readonly handlerTimeoutMs: number
  /** Largest reply body (the server's max_payload). */
  readonly maxPayload: number
}

