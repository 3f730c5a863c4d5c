/**
 * What a node is started with and what it offers once started: options and their defaults,
 * the stats it reports, the `AntsNode` handle, and the default logger.
 */
import type { Clock } from "../actor/schedules.ts"
import type { NatsConnection } from "@nats-io/nats-core"
import type { ErrorCode } from "../../subjects/envelope.ts"
import type { NodeTreeOverrides } from "../../supervisors/mod.ts"
import type { AgentDefinition } from "../agent/define-agent.ts"
import type { Messaging } from "../agent/actor-context.ts"
import type { NatsServer } from "../server/nats-server.ts"
import type { Supervisor } from "../actor/supervision.ts"
import type { TypeStats } from "../actor/type-stats.ts"
import type { ClusterOptions, ClusterView } from "../cluster/cluster.ts"
import type { ElasticOptions } from "../elastic/pool-node.ts"
import type { NodeTaskOptions } from "../tasks/node-tasks.ts"
import type { TaskEngine } from "../tasks/engine.ts"
import type { SupervisionView } from "./node-supervision.ts"
import type { MemoryOptions, NodeMemory } from "../memory/mod.ts"
import type { Credentials } from "../security/connection-options.ts"
import type { TenantPolicyOptions } from "../security/tenant-policy.ts"
import type { QuotaKind, Suspension } from "../../subjects/tenancy.ts"
import type { OpenModelsOptions } from "../models/mod.ts"
import type { Governance, GovernanceOptions } from "../governance/mod.ts"

/** What a node's models are made of (runtime/models `openModels`, without what the node supplies). */
export type NodeModelsOptions = Omit<OpenModelsOptions, "nodeId" | "replicas">
import type { NodeLimits } from "../limits/node-limits.ts"
import type { SandboxOptions } from "../sandbox/mod.ts"
import type { LedgerCounts } from "../limits/message-ledger.ts"
import type { LaneOptions, LaneStats } from "./inbound-lanes.ts"
import type { TracingOptions } from "../observability/tracing-setup.ts"
import type { HttpListener, NodeHttpOptions } from "./http-listener.ts"
import type { ToolSandbox } from "../tools/registry.ts"

export const NODE_DEFAULTS = {
  /** Mailbox bound per actor. */
  mailbox: 1000,
  /** Idle time before an on_demand actor passivates. */
  passivateAfterMs: 300_000,
  /** Empty-mailbox time before an active actor is reported `idle`. */
  idleAfterMs: 1_000,
  /** How long drain waits for in-flight work (and each step of leaving) before closing anyway. */
  shutdownTimeoutMs: 10_000,
  /** How long a drain step waits once the NATS connection is gone (nothing can be sent meanwhile). */
  drainDisconnectedMs: 2_000,
  /** Largest accepted message body. */
  maxBodyBytes: 1_048_576,
} as const

export type LogLevel = "info" | "warn" | "error"
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void

export interface NodeOptions {
  readonly agents: ReadonlyArray<AgentDefinition<any, any>>
  /**
   * NATS server URL(s), comma-separated, or a connection to use. Default: `NATS_URL`, else an
   * embedded `nats-server` child started on a free port with a temporary store.
   */
  readonly nats?: string | NatsConnection
  /**
   * How the node authenticates (user/password, token, creds or nkey file, TLS files); credentials
   * in the `nats` URL and the `nats` CLI's environment variables work too. Ignored with a connection.
   */
  readonly credentials?: Credentials
  /**
   * Folder written by `ants auth init`: with it, each tenant's actors act through a connection
   * authenticated as that tenant (tenants/<t>.nk), so the server enforces tenant isolation
   * inside the node too. Without it (a development server) actors share the node's connection.
   */
  readonly authDir?: string
  /** Tenants this node serves (default: all); actors of others are answered `forbidden`. */
  readonly tenants?: ReadonlyArray<string>
  /** Quotas of every tenant (`defaults`) and of named tenants; `ants tenant quota` overrides them at run time. */
  readonly quotas?: TenantPolicyOptions
  readonly nodeId?: string
  readonly mailbox?: number
  readonly passivateAfterMs?: number
  readonly idleAfterMs?: number
  /**
   * The clock of calendar decisions: business-hours windows, cron firings, missed firings at
   * start (default the system clock). Tests inject one to move through a day; idle and
   * passivation times stay on the system clock.
   */
  readonly clock?: Clock
  readonly shutdownTimeoutMs?: number
  /** Replaces the node's supervision tree (advanced; it must publish its decisions). */
  readonly supervisor?: Supervisor
  /** Overrides of the node's default supervision tree (root flags, policies, extra children). */
  readonly supervision?: NodeTreeOverrides
  /**
   * JetStream replicas for the runtime's buckets and streams. Default: as many as the cluster has
   * servers, at most 3 (read from the server's INFO at connect); 1 on a single server.
   */
  readonly replicas?: number
  readonly logger?: Logger
  /** Membership, leases, hand-over and durable mail timings (runtime/cluster/cluster.ts). */
  readonly cluster?: ClusterOptions
  /** The node's task engine: worker defaults, scheduler, marketplace timings, or `disabled` (runtime/tasks/node-tasks.ts). */
  readonly tasks?: NodeTaskOptions
  /**
   * Memory for `ctx.memory` (runtime/memory/open-memory.ts): a PostgreSQL URL (`postgres`,
   * else `DATABASE_URL`; opened at start, so a bad URL fails the start), else the embedded
   * database in `dataDir` (default `.ants/memory`; opened at the first call), or `false`.
   */
  readonly memory?: MemoryOptions | false
  /**
   * Models for `ctx.model` (runtime/models): a models file (path or content) and the SDK
   * environment variables; the offline provider when neither names a provider. `false`: none.
   */
  readonly models?: NodeModelsOptions | false
  /** The tool registry (runtime/tools): the sandbox its tools run in, or `false` for none on this node. */
  readonly tools?: { readonly sandbox?: ToolSandbox } | false
  /**
   * The node's sandbox for `ctx.sandbox` and sandboxed agent types (runtime/sandbox): pool sizes
   * and timings (`SANDBOX_DEFAULTS`); isolated-vm is loaded at the first run. Closed on stop.
   */
  readonly sandbox?: SandboxOptions
  /** Governance (runtime/governance): audit key file and retention, lifecycle receipts, policy and approvals. `false`: none. */
  readonly governance?: Omit<GovernanceOptions, "nodeId" | "replicas" | "log"> | false
  /** Input, memory, rate and time limits (runtime/limits/node-limits.ts has every default). */
  readonly limits?: NodeLimits
  /** When a flooded partition moves to a connection of its own (runtime/node/inbound-lanes.ts has the defaults). */
  readonly lanes?: LaneOptions
  /** Pools per tenant, load pheromones, scaling receipts (runtime/elastic/pool-node.ts); `false`: none of it. */
  readonly elastic?: ElasticOptions | false
  /** Trace export: from the `OTEL_*` environment by default (runtime/observability/tracing-setup.ts); `false` leaves it off. */
  readonly tracing?: TracingOptions | false
  /** Serve `/metrics` and `/healthz` on this address (`host:port`, `:port` or `port`; 127.0.0.1 by default; runtime/node/http-listener.ts). */
  readonly http?: NodeHttpOptions | string
}

export interface RejectedRecord {
  readonly subject: string
  readonly code: ErrorCode
  readonly message: string
  readonly at: string
  /** Rejections counted without a record of their own (over RECORDS_PER_SECOND) since the last record. */
  readonly unrecordedBefore?: number
}

/** Refused tells and events described one by one (log, record, recent list) per second; beyond, only counted. */
export const RECORDS_PER_SECOND = 100

export interface NodeStats {
  readonly node: string
  readonly url: string
  readonly routing: "partitioned" | "direct"
  readonly partitions: number[]
  readonly received: number
  /** Refused messages by error code (tells, asks and topic events alike). */
  readonly rejected: Record<string, number>
  /** Topic events refused before reaching an actor (not JSON, no target, mailbox full); also counted in `rejected`. */
  readonly rejectedEvents: number
  readonly recentRejections: ReadonlyArray<RejectedRecord>
  readonly types: Record<string, TypeStats & { active: number; idle: number; warming: number; sleeping: number; unavailable?: string }>
  /** Actors active on this node, by tenant. */
  readonly tenants: Record<string, number>
  /** Tenants whose own connection this node has open (with an auth folder; empty without). */
  readonly tenantConnections: ReadonlyArray<string>
  /** Suspended tenants and why (the tenant bucket, as this node last saw it). */
  readonly suspended: Record<string, Suspension>
  /** Refusals by tenant and quota kind. */
  readonly quotaRefusals: Record<string, Partial<Record<QuotaKind, number>>>
  /**
   * Every message, per agent type and tenant: `received = handled + forwarded + Σ rejected +
   * inFlight` at every moment (runtime/limits/message-ledger.ts). Messages whose subject could
   * not be parsed are under type and tenant `_unparsed`.
   */
  readonly messages: Record<string, Record<string, LedgerCounts>>
  /** Bytes of message bodies queued in mailboxes now, and the node's limit. */
  readonly queuedBytes: { readonly bytes: number; readonly max: number }
  /** Times a handler (or anything) held the event loop past `loopBlockMs`, and the longest, in ms. */
  readonly loopBlocks: { readonly count: number; readonly worstMs: number }
  /** Partitions moved to a connection of their own because they were flooded (absent with a connection given to the node). */
  readonly lanes?: LaneStats
}

export interface AntsNode {
  readonly id: string
  /** The NATS URL the node is connected to (the embedded server's when it started one). */
  readonly url: string
  readonly nc: NatsConnection
  /** Typed ask/tell for code running beside the node. */
  readonly client: Messaging
  readonly routing: "partitioned" | "direct"
  /** The embedded server, when the node started one. */
  readonly embedded: NatsServer | undefined
  stats(): NodeStats
  /** Graceful stop: no new messages, in-flight work finished, state checkpointed, connection drained. */
  drain(): Promise<void>
  /** Alias of drain. */
  stop(): Promise<void>
  /** Resolves when the node has stopped. */
  readonly closed: Promise<void>
  /** Membership view, owned partitions, placement and inspection. */
  readonly cluster: ClusterView
  /**
   * The node's supervision tree, read-only (`inspect`, `typeStatus`, `pathOf`, `workers`), and
   * an operator's `reset`; also served on ants._sys.node.<id>.supervision.tree|reset.
   * Undefined when the node was given its own `supervisor`.
   */
  readonly supervision: SupervisionView | undefined
  /** Durable tasks (submit, status, dead letters) through this node's engine; undefined when disabled. */
  readonly tasks: TaskEngine | undefined
  /** The memory behind `ctx.memory` (`current` once opened). */
  readonly memory: NodeMemory
  /** The HTTP listener (`/metrics`, `/healthz`, mounted routes) when the node was given `http`. */
  readonly http: HttpListener | undefined
  /** The audit writer (`record`, the RecordReceipt port) and the node's key; undefined with `governance: false`. */
  readonly governance: Governance | undefined
}

export function defaultLogger(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  if (level === "info" && !process.env.ANTS_DEBUG) return
  process.stderr.write(`[ants ${level}] ${message}${fields ? " " + JSON.stringify(fields) : ""}\n`)
}


/** Throws a clear error for a node option that is not an integer >= min. */
export function checkInteger(name: string, value: number | undefined, min: number, hint: string): void {
  if (value === undefined) return
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`startNode: ${name} must be an integer >= ${min}, got ${String(value)}; ${hint}`)
  }
}
