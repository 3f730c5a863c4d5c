/**
 * The node's observability, wired: trace export switched on from the `OTEL_*` environment
 * (or `startNode({ tracing })`), the node's Prometheus registry reading what the node already
 * counts, and the HTTP listener serving `/metrics` and `/healthz` when `http` is given. Kept
 * out of node.ts, which only calls `observeNode` and hands it what to read.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { jetstreamManager } from "@nats-io/jetstream"
import { TASKS_DLQ_STREAM, TASKS_STREAM, parseTaskSubject } from "../../subjects/tasks.ts"
import { createNodeMetrics, type NodeMetrics, type NodeMetricSources } from "../observability/node-metrics.ts"
import { startTracing, type Tracing } from "../observability/tracing-setup.ts"
import { PheromoneWriteCounts } from "../observability/pheromone-writes.ts"
import type { PheromoneWrite } from "../stigmergy/pheromones-api.ts"
import type { MessageLedger } from "../limits/message-ledger.ts"
import type { TypeHost } from "../actor/type-host.ts"
import { typeStats } from "./inspection.ts"
import { startHttpListener, type HttpListener } from "./http-listener.ts"
import type { Logger, NodeOptions } from "./options.ts"

export type NodeObservabilityOptions = Pick<NodeOptions, "tracing" | "http">

export interface NodeObservability {
  readonly metrics: NodeMetrics
  /** Where spans go, when tracing is on. */
  readonly tracing: Tracing | undefined
  /** Counts a pheromone write of `tenant` (the stigmergy layer's write hook). */
  pheromoneWritten(tenant: string, write: PheromoneWrite): void
  /** The listener, once `listen` ran with an `http` option. */
  http: HttpListener | undefined
  /** Starts the HTTP listener (when the node was given `http`). */
  listen(health: () => { readonly ok: boolean; readonly [k: string]: unknown }): Promise<void>
  /** Closes the listener, then flushes and stops tracing (the last node of the process shuts the SDK down). */
  close(): Promise<void>
}

export interface ObservedNode {
  readonly id: string
  readonly nc: NatsConnection
  readonly hosts: ReadonlyMap<string, TypeHost>
  readonly ledger: MessageLedger
  readonly budget: { readonly bytes: number; readonly max: number }
  readonly rejectedEvents: () => number
  readonly cluster: () => { readonly members: number; readonly partitions: number }
  /** Whether the node runs a task engine (then the task streams are read at scrape time). */
  readonly tasks: () => boolean
  readonly log: Logger
}

/** Starts tracing first, before anything connects: a bad `OTEL_*` setting fails the start with nothing to undo. */
export async function startNodeTracing(options: NodeObservabilityOptions): Promise<Tracing | undefined> {
  return options.tracing === false ? undefined : startTracing(options.tracing ?? {})
}

/** Tasks waiting in the task stream by tenant, and dead letters in all. */
async function taskFigures(nc: NatsConnection): Promise<{ queued: Record<string, number>; deadLetters: Record<string, number> }> {
  const jsm = await jetstreamManager(nc)
  const queued: Record<string, number> = {}
  const info = await jsm.streams.info(TASKS_STREAM, { subjects_filter: ">" }).catch(() => undefined)
  for (const [subject, n] of Object.entries(info?.state.subjects ?? {})) {
    try {
      const { tenant } = parseTaskSubject(subject)
      queued[tenant] = (queued[tenant] ?? 0) + n
    } catch {
      // not a task subject (cannot happen in the task stream); not counted
    }
  }
  const dlq = await jsm.streams.info(TASKS_DLQ_STREAM).catch(() => undefined)
  return { queued, deadLetters: { all: dlq?.state.messages ?? 0 } }
}

export function observeNode(node: ObservedNode, options: NodeObservabilityOptions, tracing: Tracing | undefined): NodeObservability {
  const pheromoneWrites = new PheromoneWriteCounts()
  const sources: NodeMetricSources = {
    nodeId: node.id,
    messages: () => node.ledger.snapshot(),
    rejectedEvents: node.rejectedEvents,
    types: () => typeStats(node.hosts),
    mailboxDepth() {
      const out: Record<string, number> = {}
      for (const [type, host] of node.hosts) {
        let n = 0
        for (const c of host.cells.values()) n += c.queued
        out[type] = n
      }
      return out
    },
    queuedBytes: () => node.budget,
    cluster: node.cluster,
    tasks: () => (node.tasks() ? taskFigures(node.nc) : Promise.resolve({ queued: {}, deadLetters: {} })),
    pheromoneWrites: () => pheromoneWrites.samples(),
  }
  const metrics = createNodeMetrics(sources)
  const http = typeof options.http === "string" ? { address: options.http } : options.http
  const o: NodeObservability = {
    metrics,
    tracing,
    pheromoneWritten: (tenant, w) => pheromoneWrites.note(tenant, w.op === "evaporate" ? w.type : w.trail.type, w.op),
    http: undefined,
    async listen(health) {
      if (http === undefined) return
      o.http = await startHttpListener(http, { metrics: () => metrics.render(), health, log: node.log })
      node.log("info", `node ${node.id}: /metrics and /healthz on ${o.http.url}`)
    },
    async close() {
      await o.http?.close()
      await tracing?.stop().catch((e: unknown) => node.log("warn", `tracing: spans not flushed: ${(e as Error)?.message ?? e}`))
    },
  }
  return o
}
