/**
 * `defineAgent` declares an agent type the way a gen_server module reads: protocol, initial
 * state, handlers, plus the runtime options of the type (mailbox bound, lifecycle, topics).
 * The returned value is both what a node hosts and what a caller uses for typed asks.
 */
import { TaggedError } from "../../subjects/errors.ts"
import * as Schema from "effect/Schema"
import { token } from "../../subjects/grammar.ts"
import type { ActorContext } from "./actor-context.ts"
import type { BackoffInput, TypePolicyInput } from "../../supervisors/spec.ts"
import type { Artifact } from "../stigmergy/workspace.ts"
import { capabilityProblem } from "../../subjects/tasks.ts"
import type { AgentTaskContext } from "./task-options.ts"
import type { OffloadSpec } from "../cpu/worker-pool.ts"
import { versioningProblem, type VersionOptions } from "./versioning.ts"
import { defineProtocol, ProtocolError, type MessageOf, type Protocol, type ProtocolSpec, type ReplyOf } from "./protocol.ts"

export type Handler<P extends ProtocolSpec, T extends keyof P, S> = (
  message: MessageOf<P, T>,
  ctx: ActorContext<S>,
) => ReplyOf<P, T> | Promise<ReplyOf<P, T>>

export type Handlers<P extends ProtocolSpec, S> = { readonly [T in keyof P]: Handler<P, T, S> }

/** A topic subscription declared by the type: events become tells to one actor of the type. */
export interface TopicBinding {
  /** Topic pattern under `ants.<tenant>.topic.` (`*` one token, `>` the rest). */
  readonly pattern: string
  /** The protocol tag the event is delivered as. */
  readonly tag: string
  /** Which actor gets the event: a fixed id, or a function of the event (and topic name). */
  readonly to: string | ((event: unknown, topic: string) => string)
}

/** When state is written to KV. */
export type CheckpointPolicy =
  /** After every handled message that changed state, written behind the reply and coalesced per actor (default). */
  | "after-change"
  /** Like after-change, but the reply waits until the checkpoint is stored (no acknowledged change is ever lost). */
  | "before-reply"
  /** Only when the actor passivates or the node drains. */
  | "on-passivate"
  /** The type keeps no state in KV. */
  | "never"

/**
 * Lifecycle tiers (seed design §10.3):
 * - `always_on`: never passivated; `instances` are activated when a node starts;
 * - `business_hours`: not passivated inside the `businessHours` window; `instances` are woken when it opens;
 * - `on_demand` (default): activated by messages, passivated when idle.
 */
export type Tier = "always_on" | "business_hours" | "on_demand"

/** A cron window (croner syntax, 5 or 6 fields) in a time zone, e.g. 09:00–17:00 on weekdays. */
export interface CronWindow {
  readonly open: string
  readonly close: string
  /** IANA time zone, e.g. "Europe/Paris". Default UTC. */
  readonly timezone?: string
}

/** A scheduled wake: at each cron time, `message` is delivered to actor `id` as `tag`. */
export interface Schedule {
  /** Unique within the type (used to fire once across the swarm). */
  readonly name: string
  readonly cron: string
  readonly timezone?: string
  readonly id: string
  readonly tag: string
  readonly message?: unknown
  /** Default `default`. */
  readonly tenant?: string
  /**
   * Firings that fell while no node ran the type (an outage): `skip` (default) records each one
   * as skipped (`ants._sys.schedule.<type>.<name>`, and its claim in `ants_schedules`);
   * `run_once` delivers the message once when a node comes back, for all of them.
   */
  readonly missed?: "run_once" | "skip"
  /** Auto-sleep: the actor goes to sleep this many minutes after a firing woke it (once idle). */
  readonly sleepAfterMinutes?: number
}

/** Handles one durable task: the payload as submitted; its return value becomes the result. Throw to fail the attempt. */
export type TaskHandlerFn = (payload: any, ctx: AgentTaskContext) => unknown

/** A capability the type serves, with the settings of its workers (defaults: runtime/tasks/README.md). */
export interface CapabilitySpec {
  readonly handle: TaskHandlerFn
  /** Tasks run at once per node. Default 16 (1 per bidder when `marketplace`). */
  readonly concurrency?: number
  /** Attempts before the task is dead-lettered. Default 3. */
  readonly maxAttempts?: number
  /** Claim duration, kept alive while the handler runs. Default 5 minutes. */
  readonly ackWaitMs?: number
  /** Retry delay after attempt n: min(maxMs, initialMs × multiplier^(n−1)), less up to `jitter` (0.2) of it. Default 1 s, ×2, ≤ 60 s. */
  readonly backoff?: BackoffInput
  /**
   * Deliver by auction instead of plain queue delivery: each task is announced as a `task`
   * pheromone and the agents of every node serving the capability this way bid for it
   * (runtime/tasks/marketplace.ts). Default false.
   */
  readonly marketplace?: boolean
  /** Tenants whose tasks are served. Default `["default"]`. */
  readonly tenants?: ReadonlyArray<string>
}

/** `capabilities` as a record (`{ "example.work": handler }`) or a list of `{capability, handle, ...}`. */
export type Capabilities =
  | Readonly<Record<string, TaskHandlerFn | CapabilitySpec>>
  | ReadonlyArray<CapabilitySpec & { readonly capability: string }>

/** A type's pool (runtime/elastic/pool-spec.ts writes the defaults down). */
export interface WarmPoolSpec {
  /** Members kept warm at all times (alias: `size`). Default 0 with a `max`, else `size`. */
  readonly min?: number
  /** The pool's old fixed size: `min` (and `max` when no `max` is given). */
  readonly size?: number
  /** Members at most. Default `min` (a fixed pool). */
  readonly max?: number
  /** Member ids are `<prefix><n>`; default `<type>-`. */
  readonly prefix?: string
  /** A member above `min` that served nothing this long leaves the pool (default 30 s). */
  readonly scaleDownAfterMs?: number
  /** At most one growth on load signals per this long (default 1 s). */
  readonly cooldownMs?: number
  /** Load in (0, 1] at which the pool grows (default 0.9, the seed's critical mark). */
  readonly scaleUpAt?: number
  /** How long the pool waits for a member's reply before answering `timeout` (default 60 s). */
  readonly relayTimeoutMs?: number
}

export interface AgentOptions extends VersionOptions {
  /** Mailbox bound per actor; a full mailbox answers `overloaded`. Default: the node's (1000). */
  readonly mailbox?: number
  /** Bytes of message bodies queued per actor; beyond it `overloaded`. Default: the node's (16 MiB). */
  readonly mailboxBytes?: number
  /**
   * How long a handler may run before its caller gets `timeout` and the actor is restarted by
   * its supervisor (its mailbox goes on): one figure for every tag, or a default with figures
   * per tag. Default: the node's (30 s); give model-calling types minutes.
   */
  readonly handlerTimeoutMs?: number | { readonly default?: number; readonly tags?: Readonly<Record<string, number>> }
  /**
   * Run this type's handlers on a pool of worker threads (CPU-bound types), named by the module
   * exporting the definition and its export name (runtime/cpu/worker-pool.ts). Handlers then see
   * `ctx.self`, `ctx.state` and `ctx.log` only.
   */
  readonly offload?: OffloadSpec
  /** Idle time before passivation (sleeping). Default: the node's (`--passivate-after`, 300000 ms). */
  readonly passivateAfterMs?: number
  readonly checkpoint?: CheckpointPolicy
  readonly tier?: Tier
  readonly topics?: ReadonlyArray<TopicBinding>
  /** Ids (tenant `default`) activated at node start (`always_on`) or when the business-hours window opens. */
  readonly instances?: ReadonlyArray<string>
  /** Required for tier `business_hours`. */
  readonly businessHours?: CronWindow
  /**
   * Warm pool: `min` (or `size`) actors (`<prefix>0` … , prefix defaults to `<type>-`) kept
   * activated from node start and never passivated, so work sent to them skips activation.
   * With a `max` above it the pool is elastic: work sent to `ants.<tenant>.agent.<type>._pool.<Tag>`
   * goes to an idle member and the pool grows under load up to `max`, shrinking back after
   * `scaleDownAfterMs` idle (runtime/elastic/pool-spec.ts has every default).
   */
  readonly warmPool?: number | WarmPoolSpec
  readonly schedules?: ReadonlyArray<Schedule>
  /**
   * How this type's actors are supervised (supervisors/spec.ts `TypePolicyInput`): per-actor
   * `intensity`/`periodMs` (default 3 restarts per 10 s), `backoff`, the type's own
   * `typeIntensity`/`typePeriodMs` (default 10 escalations per 60 s, then the type is
   * unavailable on the node) and a `decider(error)` returning resume | restart | stop | escalate.
   */
  readonly supervision?: TypePolicyInput
  /** Stigmergy: artifacts reaching these statuses are delivered to this type (runtime/actor/artifact-delivery.ts). */
  readonly interests?: ReadonlyArray<Interest>
  /**
   * Durable tasks: the capabilities this type serves and their handlers. Every node hosting
   * the type delivers tasks submitted to `ants.<tenant>.task.<capability>` to the handler, at
   * least once, with retries and dead letters (README "Durable tasks").
   */
  readonly capabilities?: Capabilities
}

export interface AgentSpec<P extends ProtocolSpec, S> extends AgentOptions {
  /** The type name: a subject token (`[A-Za-z0-9_-]+`). */
  readonly type: string
  readonly protocol: P | Protocol<P>
  /** Initial state of a fresh actor (no checkpoint yet). */
  readonly initialState?: (address: { tenant: string; id: string }) => S
  readonly handlers: Handlers<P, S>
  /** Called after activation (fresh or restored), before the first message. */
  readonly onActivate?: (ctx: ActorContext<S>) => void | Promise<void>
  /** Called before passivation or stop, after the last message. */
  readonly onPassivate?: (ctx: ActorContext<S>) => void | Promise<void>
  /** Optional extension data read by subsystems (tasks, workspace interests, lifecycle). */
  readonly extensions?: Readonly<Record<string, unknown>>
}

export interface AgentDefinition<P extends ProtocolSpec = ProtocolSpec, S = any> extends AgentOptions {
  readonly _tag: "AgentDefinition"
  readonly type: string
  readonly protocol: Protocol<P>
  readonly initialState: (address: { tenant: string; id: string }) => S
  readonly handlers: Handlers<P, S>
  readonly onActivate?: (ctx: ActorContext<S>) => void | Promise<void>
  readonly onPassivate?: (ctx: ActorContext<S>) => void | Promise<void>
  readonly extensions: Readonly<Record<string, unknown>>
}

export class AgentDefinitionError extends TaggedError("AgentDefinitionError") {}

function isProtocol<P extends ProtocolSpec>(p: P | Protocol<P>): p is Protocol<P> {
  return typeof (p as Protocol<P>).compiled === "object" && (p as Protocol<P>).compiled instanceof Map
}

export function defineAgent<const P extends ProtocolSpec, S = undefined>(spec: AgentSpec<P, S>): AgentDefinition<P, S> {
  try {
    token("type", spec.type)
  } catch (e) {
    throw new AgentDefinitionError(`agent type: ${(e as Error).message}`)
  }
  let protocol: Protocol<P>
  try {
    protocol = isProtocol(spec.protocol) ? spec.protocol : defineProtocol(spec.protocol)
  } catch (e) {
    throw new AgentDefinitionError(`agent "${spec.type}": ${(e as ProtocolError).message}`)
  }
  for (const tag of protocol.tags) {
    if (typeof spec.handlers[tag] !== "function") {
      throw new AgentDefinitionError(`agent "${spec.type}": no handler for tag "${tag}"`)
    }
  }
  for (const tag of Object.keys(spec.handlers)) {
    if (!protocol.compiled.has(tag)) {
      throw new AgentDefinitionError(`agent "${spec.type}": handler "${tag}" has no message in the protocol`)
    }
  }
  if (spec.mailbox !== undefined && (!Number.isInteger(spec.mailbox) || spec.mailbox < 1)) {
    throw new AgentDefinitionError(`agent "${spec.type}": mailbox must be a positive integer`)
  }
  const versioning = versioningProblem(spec)
  if (versioning !== undefined) throw new AgentDefinitionError(`agent "${spec.type}": ${versioning}`)
  if (spec.tier === "business_hours" && !spec.businessHours) {
    throw new AgentDefinitionError(`agent "${spec.type}": tier business_hours needs businessHours {open, close, timezone}`)
  }
  for (const id of spec.instances ?? []) {
    try {
      token("id", id)
    } catch (e) {
      throw new AgentDefinitionError(`agent "${spec.type}": instance ${(e as Error).message}`)
    }
  }
  const names = new Set<string>()
  for (const sch of spec.schedules ?? []) {
    if (names.has(sch.name)) throw new AgentDefinitionError(`agent "${spec.type}": schedule "${sch.name}" is declared twice`)
    names.add(sch.name)
    if (!protocol.compiled.has(sch.tag)) throw new AgentDefinitionError(`agent "${spec.type}": schedule "${sch.name}" delivers unknown tag "${sch.tag}"`)
    if (sch.missed !== undefined && sch.missed !== "run_once" && sch.missed !== "skip") throw new AgentDefinitionError(`agent "${spec.type}": schedule "${sch.name}": missed must be "run_once" or "skip"`)
    if (sch.sleepAfterMinutes !== undefined && !(sch.sleepAfterMinutes >= 0)) throw new AgentDefinitionError(`agent "${spec.type}": schedule "${sch.name}": sleepAfterMinutes must be a number of minutes, at least 0`)
    try {
      token("token", sch.name)
      token("id", sch.id)
    } catch (e) {
      throw new AgentDefinitionError(`agent "${spec.type}": schedule "${sch.name}": ${(e as Error).message}`)
    }
  }
  for (const i of spec.interests ?? []) {
    if (!protocol.compiled.has(i.tag)) throw new AgentDefinitionError(`agent "${spec.type}": interest in ${i.statuses.join("|")} is delivered as unknown tag "${i.tag}"`)
  }
  for (const t of spec.topics ?? []) {
    if (!protocol.compiled.has(t.tag)) {
      throw new AgentDefinitionError(`agent "${spec.type}": topic "${t.pattern}" is delivered as unknown tag "${t.tag}"`)
    }
  }
  capabilityEntries(spec) // validates
  return {
    ...spec,
    _tag: "AgentDefinition",
    protocol,
    initialState: spec.initialState ?? (() => undefined as S),
    extensions: spec.extensions ?? {},
  }
}

/** The declared capabilities as a list, validated; throws AgentDefinitionError. */
export function capabilityEntries(def: Pick<AgentOptions, "capabilities"> & { readonly type: string }): Array<CapabilitySpec & { readonly capability: string }> {
  const c = def.capabilities
  if (c === undefined) return []
  const list: Array<CapabilitySpec & { capability: string }> = Array.isArray(c)
    ? c.map((e) => ({ ...e }))
    : Object.entries(c as Record<string, TaskHandlerFn | CapabilitySpec>).map(([capability, v]) =>
        typeof v === "function" ? { capability, handle: v } : { ...(v as CapabilitySpec), capability },
      )
  const seen = new Set<string>()
  for (const e of list) {
    const where = `agent "${def.type}": capability ${JSON.stringify(e.capability)}`
    const problem = typeof e.capability === "string" ? capabilityProblem(e.capability) : "a capability is a dotted string of tokens"
    if (problem) throw new AgentDefinitionError(`${where}: ${problem}`)
    if (seen.has(e.capability)) throw new AgentDefinitionError(`${where} is declared twice`)
    seen.add(e.capability)
    if (typeof e.handle !== "function") throw new AgentDefinitionError(`${where} needs a handler function (payload, ctx) => result`)
    for (const k of ["concurrency", "maxAttempts"] as const) {
      const v = e[k]
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new AgentDefinitionError(`${where}: ${k} must be a positive integer, got ${JSON.stringify(v)}`)
    }
    if (e.ackWaitMs !== undefined && (!Number.isFinite(e.ackWaitMs) || e.ackWaitMs < 1_000)) {
      throw new AgentDefinitionError(`${where}: ackWaitMs must be at least 1000 ms, got ${JSON.stringify(e.ackWaitMs)}`)
    }
    for (const t of e.tenants ?? []) {
      try {
        token("tenant", t)
      } catch (err) {
        throw new AgentDefinitionError(`${where}: ${(err as Error).message}`)
      }
    }
  }
  return list
}

export function isAgentDefinition(u: unknown): u is AgentDefinition {
  return typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "AgentDefinition"
}

/** The empty message, for tags that carry nothing (`Get`, `Ping`). */
export const Empty = Schema.Struct({})

/** A declared interest in artifacts reaching some statuses. */
export interface Interest {
  /** Statuses that trigger a delivery (e.g. `["needs_review"]`). */
  readonly statuses: ReadonlyArray<string>
  /** The protocol tag the artifact is delivered as; its message Schema should accept `{artifact}` (see `ArtifactDelivery`). */
  readonly tag: string
  /** The status the artifact is moved to when claimed (default `in_progress`), so one actor gets it. */
  readonly claim?: string
  readonly kinds?: ReadonlyArray<string>
  readonly prefix?: string
  /** Which actor gets it (default `default`). */
  readonly to?: string | ((artifact: Artifact) => string)
  /** Tenants watched (default: every tenant, one wildcard watch over the whole workspace). */
  readonly tenants?: ReadonlyArray<string>
  /**
   * How long the actor may take: the ask's timeout and the claim's lease (default 60000 ms).
   * After it the claim goes stale and the artifact is delivered again (to whoever claims it).
   */
  readonly timeoutMs?: number
}
