/**
 * What a handler sees: its own address and state, and the side effects it may cause. Composed
 * from narrow role interfaces (Proto.Actor style) so a helper can ask only for what it needs.
 * Plain Promises throughout: an agent author needs to know neither Effect nor NATS.
 */
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { MessageInput, Protocol, ProtocolSpec, ReplyOf } from "./protocol.ts"
import type { Pheromones, Workspace } from "../stigmergy/mod.ts"
import type { ScopedMemory } from "../memory/mod.ts"
import type { ModelClient } from "../models/mod.ts"
import type { TenantSandbox } from "../sandbox/mod.ts"

export interface DurableTellOptions {
  /** De-duplication id (`Nats-Msg-Id`); a sender that retries must reuse it. Default: a random id. */
  readonly msgId?: string
}

export interface DurableTellResult {
  /** Stream sequence of the message. */
  readonly seq: number
  /** True when the stream had already stored a message with this msgId. */
  readonly duplicate: boolean
}

/**
 * What messaging needs of an agent definition: its type name and protocol (every
 * `AgentDefinition` is one). Named here so this file and define-agent.ts need not import each other.
 */
export interface AgentRef<P extends ProtocolSpec = ProtocolSpec> {
  readonly type: string
  readonly protocol: Protocol<P>
}

/** Where a message goes: a typed agent definition (or its type name) plus an id, in a tenant. */
export interface Target<P extends ProtocolSpec = ProtocolSpec> {
  readonly agent: AgentRef<P> | string
  readonly id: string
  /** Defaults to the sender's tenant. */
  readonly tenant?: string
}

export interface AskOptions {
  /** Default 5000 ms. */
  readonly timeoutMs?: number
  /** Sent in the header `Ants-Idempotency-Key`: the asked actor reads it as `ctx.idempotencyKey` (an agent tool's ask carries its tool call's key). */
  readonly idempotencyKey?: string
}

/** A typed handle on one actor, like an Orleans grain reference. */
export interface ActorRef<P extends ProtocolSpec> {
  readonly address: ActorAddress
  /** Request/reply; rejects with an `AskError` (check `.code`) when the reply is an error envelope. */
  ask<T extends keyof P & string>(tag: T, message: MessageInput<P, T>, options?: AskOptions): Promise<ReplyOf<P, T>>
  /** Fire-and-forget (at most once). */
  tell<T extends keyof P & string>(tag: T, message: MessageInput<P, T>): void
  /** Durable tell (at least once, through JetStream; see `Messaging.tellDurable`). */
  tellDurable<T extends keyof P & string>(tag: T, message: MessageInput<P, T>, options?: DurableTellOptions): Promise<DurableTellResult>
}

export interface Messaging {
  /** A typed reference to another actor. */
  ref<P extends ProtocolSpec>(agent: AgentRef<P>, id: string, tenant?: string): ActorRef<P>
  /** Untyped ask by type name (the reply is validated by the receiver only). */
  ask(target: Target, tag: string, message: unknown, options?: AskOptions): Promise<unknown>
  /** Untyped tell by type name. */
  tell(target: Target, tag: string, message: unknown): void
  /**
   * Durable tell: at-least-once delivery through JetStream stream `ants_mail` (subject
   * `ants.<tenant>.mail.<type>.<id>.<Tag>`), de-duplicated by `msgId` within the stream's
   * duplicate window; survives the crash of the node holding it. Resolves once stored.
   */
  tellDurable(target: Target, tag: string, message: unknown, options?: DurableTellOptions): Promise<DurableTellResult>
}

export interface TopicPublishing {
  /** Publishes JSON to `ants.<tenant>.topic.<name>` (the actor's tenant). */
  publish(topic: string, data: unknown): void
  /**
   * Subscribes this activation to a topic pattern (`*` one token, `>` the rest): each event is
   * delivered to this actor as a tell with `tag`. Lasts while the activation lives; declare
   * `topics` on the agent type for subscriptions that survive sleep and wake the actor.
   */
  subscribe(pattern: string, tag: string): void
}

export interface Logging {
  log(message: string, fields?: Record<string, unknown>): void
}

export interface Stigmergic {
  /** Pheromones of the actor's tenant, signed by this actor (`<tenant>/<type>/<id>`). */
  readonly pheromones: Pheromones
  /** The shared artifact workspace of the actor's tenant. */
  readonly workspace: Workspace
}

export interface Thinking {
  /**
   * The node's models for this actor: `chat` (one routed model call, with tools, an output
   * Schema, streaming) and `turn` (a durable turn). Spend is counted against this actor, its
   * type and its tenant. Throws when the node runs without models (`models: false`).
   */
  readonly model: ModelClient
}

export interface Sandboxing {
  /**
   * The node's sandbox for code this actor did not write (runtime/sandbox): runs are made in the
   * actor's tenant, in isolates no other tenant uses, under the limits of their level. Needs the
   * optional package isolated-vm (else runs fail with `SandboxError` `unavailable`).
   */
  readonly sandbox: TenantSandbox
}

export interface ActorContext<S = unknown> extends Messaging, TopicPublishing, Logging, Stigmergic, Thinking, Sandboxing {
  /** `{tenant, type, id}` of this actor. */
  readonly self: ActorAddress
  /** The id of the node hosting this activation. */
  readonly node: string
  /**
   * The actor's state. Mutate it in place or assign a new value; the runtime notices the change
   * and checkpoints it (see the README, "When state is checkpointed").
   */
  state: S
  /**
   * Aborted when the runtime gives up on this handler: its deadline passed, an operator's reset
   * freed the actor, or the actor stopped or restarted while it ran (`reason` says which). Hand
   * it to what you await (`fetch(url, { signal: ctx.signal })`, SDK calls, timers) so the work
   * stops with the handler; `ctx.model` calls honour it without being told. It belongs to this
   * message's turn: read it before the first `await`. Outside a handler (onActivate,
   * onPassivate) it is the activation's, aborted when the activation ends.
   */
  readonly signal: AbortSignal
  /**
   * Memory of this actor (episodic, semantic, procedural), searched by meaning: it writes as
   * this actor and reads within its tenant (runtime/memory). Opened at the node's first call.
   */
  readonly memory: ScopedMemory
  /**
   * The stream the message being handled asked for (header `Ants-Stream`, which `ants ask
   * --stream` sets): a handler that streams publishes there through `ctx.model.stream(id)`.
   */
  readonly streamId: string | undefined
  /**
   * The idempotency key the message being handled carries (header `Ants-Idempotency-Key`): an
   * ask made by an agent tool carries its tool call's key, the same when the calling turn is
   * resumed on another node and makes the call again, so a handler with side effects can
   * recognise the repeat. Undefined for a message without one.
   */
  readonly idempotencyKey: string | undefined
  /** Extension slots filled by optional subsystems (pheromones, tasks...). */
  readonly extensions: Readonly<Record<string, unknown>>
}
