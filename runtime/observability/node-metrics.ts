/**
 * A node's Prometheus metrics, in a registry of its own (two nodes in one process never share
 * or collide): every figure is read from what the node already counts when `/metrics` is
 * scraped, except ask latency, which the hosts observe as they answer. The README lists the
 * names and labels; `ops/prometheus/ants-alerts.yml` alerts on them.
 */
import { collectDefaultMetrics, Registry } from "prom-client"
import type { LedgerCounts } from "../limits/message-ledger.ts"
import { AskLatency, registerCollected, type Sample } from "./collected-metric.ts"
import { modelUsageOf, sandboxRunsByOutcome } from "./usage.ts"

/** The per-type counters a node keeps (runtime/actor/type-stats.ts), with actors by state. */
export interface TypeFigures {
  readonly activations: number
  readonly passivations: number
  readonly handled: number
  readonly handlerFailures: number
  readonly restarts: number
  readonly checkpoints: number
  readonly checkpointFailures: number
  readonly timeouts: number
  readonly loopBlocks: number
  readonly active: number
  readonly idle: number
  readonly warming: number
  readonly sleeping: number
}

/** What the node hands its metrics to read from (each read at scrape time). */
export interface NodeMetricSources {
  readonly nodeId: string
  /** The message ledger: `{ [type]: { [tenant]: counts } }`. */
  messages(): Record<string, Record<string, LedgerCounts>>
  /** Topic events refused before reaching an actor. */
  rejectedEvents(): number
  types(): Record<string, TypeFigures>
  /** Messages queued in mailboxes now, by agent type. */
  mailboxDepth(): Record<string, number>
  /** Bytes of message bodies queued in mailboxes now, and the node's limit. */
  queuedBytes(): { readonly bytes: number; readonly max: number }
  /** Members this node sees and partitions it owns. */
  cluster(): { readonly members: number; readonly partitions: number }
  /** Durable tasks: queued per tenant and dead letters per tenant (read from JetStream; absent without tasks). */
  tasks?(): Promise<{ readonly queued: Record<string, number>; readonly deadLetters: Record<string, number> }>
  /** Pheromone writes this node made, by tenant, pheromone type and operation (absent when it counts none). */
  pheromoneWrites?(): Iterable<Sample>
}

export interface NodeMetrics {
  readonly registry: Registry
  readonly askLatency: AskLatency
  /** The text exposition and its content type. */
  render(): Promise<{ readonly contentType: string; readonly body: string }>
}

function* perType<K extends keyof TypeFigures>(types: Record<string, TypeFigures>, key: K): Iterable<Sample> {
  for (const [type, t] of Object.entries(types)) yield { labels: { type }, value: t[key] }
}

function* ledgerSamples(m: Record<string, Record<string, LedgerCounts>>, key: "received" | "handled" | "forwarded" | "inFlight"): Iterable<Sample> {
  for (const [type, byTenant] of Object.entries(m)) for (const [tenant, c] of Object.entries(byTenant)) yield { labels: { type, tenant }, value: c[key] }
}

export function createNodeMetrics(src: NodeMetricSources, options: { readonly processMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry()
  registry.setDefaultLabels({ node: src.nodeId })
  // the standard process and Node.js metrics (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, ...)
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry })
  const askLatency = new AskLatency()
  askLatency.register(registry)
  const counter = (name: string, help: string, collect: () => Iterable<Sample> | Promise<Iterable<Sample>>) => registerCollected(registry, { name, help, type: "counter", collect })
  const gauge = (name: string, help: string, collect: () => Iterable<Sample> | Promise<Iterable<Sample>>) => registerCollected(registry, { name, help, type: "gauge", collect })

  counter("ants_messages_received_total", "Messages the node took from NATS, by agent type and tenant.", () => ledgerSamples(src.messages(), "received"))
  counter("ants_messages_handled_total", "Messages whose handler answered ok, by agent type and tenant.", () => ledgerSamples(src.messages(), "handled"))
  counter("ants_messages_forwarded_total", "Messages sent on to the node that owns the actor, by agent type and tenant.", () => ledgerSamples(src.messages(), "forwarded"))
  gauge("ants_messages_in_flight", "Messages taken and not yet settled (queued or running), by agent type and tenant.", () => ledgerSamples(src.messages(), "inFlight"))
  counter("ants_messages_rejected_total", "Messages refused or failed, by agent type, tenant and reason (the envelope's error code).", function* () {
    for (const [type, byTenant] of Object.entries(src.messages())) {
      for (const [tenant, c] of Object.entries(byTenant)) for (const [reason, n] of Object.entries(c.rejected)) yield { labels: { type, tenant, reason }, value: n }
    }
  })
  counter("ants_topic_events_rejected_total", "Topic events that could not become a message for an actor.", () => [{ value: src.rejectedEvents() }])

  gauge("ants_actors", "Actors of this node by agent type and lifecycle state (active, idle, warming, sleeping).", function* () {
    for (const [type, t] of Object.entries(src.types())) {
      for (const state of ["active", "idle", "warming", "sleeping"] as const) yield { labels: { type, state }, value: t[state] }
    }
  })
  counter("ants_activations_total", "Actor activations (cold, from sleep, restarts in place excluded), by agent type.", () => perType(src.types(), "activations"))
  counter("ants_passivations_total", "Actors put to sleep, by agent type.", () => perType(src.types(), "passivations"))
  counter("ants_restarts_total", "Actor restarts (supervisor decisions, timeouts, resets), by agent type.", () => perType(src.types(), "restarts"))
  counter("ants_handler_failures_total", "Handlers that threw or answered outside their schema, by agent type.", () => perType(src.types(), "handlerFailures"))
  counter("ants_handler_timeouts_total", "Handlers that passed their deadline, by agent type.", () => perType(src.types(), "timeouts"))
  counter("ants_checkpoints_total", "State checkpoints written, by agent type.", () => perType(src.types(), "checkpoints"))
  counter("ants_checkpoint_failures_total", "State checkpoints that failed (fenced or not stored), by agent type.", () => perType(src.types(), "checkpointFailures"))
  counter("ants_loop_blocks_total", "Handlers that held the event loop past the node's loopBlockMs, by agent type.", () => perType(src.types(), "loopBlocks"))
  gauge("ants_mailbox_depth", "Messages queued in the mailboxes of this node's actors, by agent type.", function* () {
    for (const [type, n] of Object.entries(src.mailboxDepth())) yield { labels: { type }, value: n }
  })
  gauge("ants_mailbox_bytes", "Bytes of message bodies queued in this node's mailboxes.", () => [{ value: src.queuedBytes().bytes }])
  gauge("ants_mailbox_bytes_limit", "The node's limit on queued message bytes.", () => [{ value: src.queuedBytes().max }])
  gauge("ants_cluster_members", "Runtime nodes this node sees as members of the swarm (itself included).", () => [{ value: src.cluster().members }])
  gauge("ants_partitions_owned", "Partitions this node owns.", () => [{ value: src.cluster().partitions }])

  if (src.tasks) {
    const tasks = src.tasks
    let last: Promise<{ readonly queued: Record<string, number>; readonly deadLetters: Record<string, number> }> | undefined
    // one JetStream read per scrape for both gauges
    const read = () => (last ??= tasks().finally(() => setTimeout(() => (last = undefined), 0)))
    gauge("ants_task_queue_depth", "Durable tasks waiting in the task stream, by tenant.", async () => Object.entries((await read()).queued).map(([tenant, value]) => ({ labels: { tenant }, value })))
    gauge("ants_task_dead_letters", "Tasks in the dead-letter stream, by tenant.", async () => Object.entries((await read()).deadLetters).map(([tenant, value]) => ({ labels: { tenant }, value })))
  }
  if (src.pheromoneWrites) {
    counter("ants_pheromone_writes_total", "Pheromone writes this node made, by tenant, pheromone type and operation (deposit, reinforce, evaporate).", src.pheromoneWrites)
  }

  counter("ants_model_calls_total", "Model calls answered, by provider and model.", () => modelUsageOf(src.nodeId).map((r) => ({ labels: { provider: r.provider, model: r.model }, value: r.calls })))
  counter("ants_model_failures_total", "Model call attempts that failed, by provider and model.", () => modelUsageOf(src.nodeId).map((r) => ({ labels: { provider: r.provider, model: r.model }, value: r.failures })))
  counter("ants_model_tokens_total", "Model tokens, by provider, model and direction (input, output).", function* () {
    for (const r of modelUsageOf(src.nodeId)) {
      yield { labels: { provider: r.provider, model: r.model, direction: "input" }, value: r.inputTokens }
      yield { labels: { provider: r.provider, model: r.model, direction: "output" }, value: r.outputTokens }
    }
  })
  counter("ants_model_cost_usd_total", "Model spend in US dollars at the configured prices, by provider and model.", () => modelUsageOf(src.nodeId).map((r) => ({ labels: { provider: r.provider, model: r.model }, value: r.costUsd })))
  counter("ants_sandbox_runs_total", "Sandboxed code runs in this process, by outcome.", () => [...sandboxRunsByOutcome()].map(([outcome, value]) => ({ labels: { outcome }, value })))

  return {
    registry,
    askLatency,
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() }
    },
  }
}
