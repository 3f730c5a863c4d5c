/**
 * The ActorContext given to handlers. One small object per activation (two fields; every
 * method lives on the prototype), so an idle actor stays cheap. Bound to the actor's tenant:
 * a target naming another tenant is refused with `forbidden`.
 */
import type { ActorAddress } from "../../subjects/grammar.ts"
import { actorName, topicPattern } from "../../subjects/grammar.ts"
import type { AgentRef, ActorContext, ActorRef, AskOptions, DurableTellOptions, DurableTellResult, Target } from "../agent/actor-context.ts"
import type { ActorCell } from "./cell.ts"
import { AskError, publishTopic } from "../client/messaging.ts"
import type { ProtocolSpec } from "../agent/protocol.ts"
import type { HostNode } from "./host-node.ts"
import type { TenantScope } from "./tenant-scope.ts"
import type { Pheromones, Workspace } from "../stigmergy/mod.ts"
import type { ScopedMemory } from "../memory/mod.ts"
import type { ModelClient } from "../models/mod.ts"
import { toolsClient } from "../tools/client.ts"
import { parseJsonSafe } from "../limits/safe-json.ts"
import { turnSignal } from "./handler-turn.ts"
import { IDEMPOTENCY_HEADER, STREAM_HEADER } from "../../subjects/models.ts"
import { tenantSandbox, type TenantSandbox } from "../sandbox/mod.ts"

const decoder = new TextDecoder()
/** Per activation: the actor's model client (made on first use). */
const modelClients = new WeakMap<ActorCell, ModelClient>()

class CellContext implements ActorContext<unknown> {
  // True private fields: a handler cannot reach the cell, its host or the node (whose connection
  // has the runtime's full permissions) through the context object.
  readonly #cell: ActorCell
  readonly #node: HostNode
  #scope: TenantScope | undefined

  constructor(cell: ActorCell, hostNode: HostNode) {
    this.#cell = cell
    this.#node = hostNode
  }

  /**
   * What this actor acts through: its tenant's connection when the node has an auth folder
   * (opened before the actor's first handler runs). Deliberately reachable (`ctx.scope`): a
   * handler that reaches past the API with it can do no more than its tenant's principal may,
   * and the server refuses the rest. With tenant connections in use it never falls back to the
   * node's connection: no scope, no messaging.
   */
  protected get scope(): TenantScope {
    if (this.#scope) return this.#scope
    const node = this.#node
    const tenant = this.#cell.tenant
    if (node.scopes === undefined) return (this.#scope = { tenant, nc: node.nc, messaging: node.messaging, stigmergy: () => node.stigmergy() })
    const s = node.scopes.get(tenant)
    if (!s) throw new AskError("unavailable", `the connection of tenant "${tenant}" is not open on node ${node.id}`)
    return (this.#scope = s)
  }

  get self(): ActorAddress {
    return { tenant: this.#cell.tenant, type: this.#cell.type, id: this.#cell.id }
  }

  get node(): string {
    return this.#node.id
  }

  get state(): unknown {
    return this.#cell.state
  }

  /** The turn's signal (handler-turn.ts `turnSignal`); outside a turn, the activation's. */
  get signal(): AbortSignal {
    return turnSignal(this.#cell) ?? stigmergyViews(this.#cell).signal
  }

  set state(s: unknown) {
    this.#cell.state = s
  }

  /** The actor's own view: its `close()` touches only its watches, which stop with the activation. */
  get pheromones(): Pheromones {
    const v = stigmergyViews(this.#cell)
    const c = this.#cell
    return (v.pheromones ??= this.scope.stigmergy().pheromones(c.tenant, actorName(c), v.signal))
  }

  get workspace(): Workspace {
    const v = stigmergyViews(this.#cell)
    const c = this.#cell
    return (v.workspace ??= this.scope.stigmergy().workspace(c.tenant, actorName(c), v.signal))
  }

  get memory(): ScopedMemory {
    return this.#node.memory.forActor(this.self)
  }

  get model(): ModelClient {
    const cell = this.#cell
    let m = modelClients.get(cell)
    if (!m) {
      const node = this.#node
      const models = node.models
      if (!models) throw new AskError("unavailable", `node ${node.id} runs without models (started with models: false)`)
      const tenant = cell.tenant
      const scope = this.scope
      m = models.client(
        { tenant, type: cell.type, id: cell.id },
        // An agent tool's call is an ask, in the actor's own tenant (through its scope); a turn waits for it as long as a model call.
        // A registry tool's call is a run in the same tenant's registry, over the same scope (runtime/tools).
        Object.assign((type: string, id: string, tag: string, message: unknown, idempotencyKey?: string) => scope.messaging.ask({ agent: type, id, tenant }, tag, message, { timeoutMs: 30_000, ...(idempotencyKey ? { idempotencyKey } : {}) }), {
          runTool: (name: string, args: unknown) => toolsClient(scope.nc, tenant).run(name, args).then((r) => r.value),
        }),
        (subject: string, data: Uint8Array) => node.nc.publish(subject, data),
        () => turnSignal(cell),
      )
      modelClients.set(cell, m)
    }
    return m
  }

  get sandbox(): TenantSandbox {
    const sandbox = this.#node.sandbox
    if (!sandbox) throw new AskError("unavailable", `node ${this.#node.id} runs without a sandbox`)
    return tenantSandbox(sandbox, this.#cell.tenant)
  }

  get streamId(): string | undefined {
    return this.#cell.current?.msg?.headers?.get(STREAM_HEADER) || undefined
  }

  get idempotencyKey(): string | undefined {
    return this.#cell.current?.msg?.headers?.get(IDEMPOTENCY_HEADER) || undefined
  }

  get extensions(): Readonly<Record<string, unknown>> {
    return this.#cell.host.definition.extensions
  }

  private sameTenant(t: string | undefined): string {
    const tenant = this.#cell.tenant
    if (t !== undefined && t !== tenant) {
      throw new AskError("forbidden", `actor ${this.#cell.type}/${this.#cell.id} of tenant "${tenant}" may not address tenant "${t}"`)
    }
    return tenant
  }

  ref<P extends ProtocolSpec>(agent: AgentRef<P>, id: string, t?: string): ActorRef<P> {
    return this.scope.messaging.ref(agent, id, this.sameTenant(t))
  }

  ask(target: Target, tag: string, message: unknown, options?: AskOptions): Promise<unknown> {
    return this.scope.messaging.ask({ ...target, tenant: this.sameTenant(target.tenant) }, tag, message, options)
  }

  tell(target: Target, tag: string, message: unknown): void {
    this.scope.messaging.tell({ ...target, tenant: this.sameTenant(target.tenant) }, tag, message)
  }

  tellDurable(target: Target, tag: string, message: unknown, options?: DurableTellOptions): Promise<DurableTellResult> {
    return this.scope.messaging.tellDurable({ ...target, tenant: this.sameTenant(target.tenant) }, tag, message, options)
  }

  publish(topic: string, data: unknown): void {
    publishTopic(this.scope.nc, this.#cell.tenant, topic, data)
  }

  subscribe(pattern: string, tag: string): void {
    const cell = this.#cell
    const node = this.#node
    const nc = this.scope.nc
    const compiled = cell.host.compiled.get(tag)
    if (!compiled) throw new AskError("unknown_tag", `agent "${cell.type}" has no tag "${tag}" to deliver topic events as`)
    const sub = nc.subscribe(topicPattern(cell.tenant, pattern), {
      callback: (_err, msg) => {
        if (cell.status === "stopped") return
        let parsed: unknown
        // a refused event is counted and recorded by the node (stats `rejectedEvents`), never just dropped
        try {
          parsed = msg.data.length === 0 ? {} : parseJsonSafe(decoder.decode(msg.data), { maxDepth: node.limits.maxDepth, maxKeys: node.limits.maxKeys })
        } catch (e) {
          refuse(node, msg.subject, "invalid_message", `event is not JSON (${(e as Error).message}); not delivered to ${cell.type}/${cell.id}`)
          return
        }
        const r = compiled.decodeMessage(parsed)
        if (r._tag === "Left") {
          refuse(node, msg.subject, "invalid_message", `event does not fit ${cell.type}.${tag}; not delivered to ${cell.type}/${cell.id}`)
          return
        }
        if (!cell.enqueue({ tag, message: r.right, msg: undefined })) {
          refuse(node, msg.subject, "overloaded", `mailbox of ${cell.type}/${cell.id} is full; event refused`)
        }
      },
    })
    ;(cell.subscriptions ??= []).push(sub)
  }

  log(message: string, fields?: Record<string, unknown>): void {
    this.#node.log("info", `[${this.#cell.type}/${this.#cell.id}] ${message}`, fields)
  }
}

function refuse(node: HostNode, subject: string, code: "invalid_message" | "overloaded", message: string): void {
  if (node.rejectedEvent) node.rejectedEvent(subject, code, message)
  else node.log("warn", `topic event on ${subject}: ${code}: ${message}`)
}

/** Per activation: the actor's pheromone and workspace views and the signal that ends their watches (and is `ctx.signal` outside a turn). */
interface StigmergyViews {
  readonly signal: AbortSignal
  pheromones?: Pheromones
  workspace?: Workspace
}
const views = new WeakMap<ActorCell, StigmergyViews>()

function stigmergyViews(cell: ActorCell): StigmergyViews {
  let v = views.get(cell)
  if (!v) {
    const ended = new AbortController()
    // The cell's subscriptions are dropped when the activation ends (stop, passivation).
    if (cell.status === "stopped") ended.abort()
    else (cell.subscriptions ??= []).push({ unsubscribe: () => ended.abort() })
    views.set(cell, (v = { signal: ended.signal }))
  }
  return v
}

export function makeActorContext(cell: ActorCell, node: HostNode): ActorContext {
  return new CellContext(cell, node)
}
