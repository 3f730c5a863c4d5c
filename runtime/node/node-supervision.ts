/**
 * Wires the supervision tree of `supervisors/` into a node (OTP: every node has a root
 * supervisor; each hosted agent type sits under one as a `type` child whose actor instances are
 * supervised one by one). The tree decides; this module carries its decisions out with NATS:
 * every decision is published on ants._sys.supervisor.<tenant>.<type>.<id>, a type that gives
 * up answers `unavailable` on this node, and a root that gives up makes every type unavailable
 * while the node stays up.
 *
 * User-built trees (`startNode({ supervision: { children } })`):
 * - a `type` child placed under a supervisor of your own is supervised there (and not again at
 *   the root); when its supervisor stops it, its actors stop (each within `shutdownMs`) and the
 *   type answers `unavailable`; when its supervisor restarts it, it serves again after the
 *   restart delay;
 * - a `worker` child with `actor: { type, id }` runs that singleton actor: a handler failure of
 *   that actor is the worker's exit, reported to its supervisor (`childFailed`), so the
 *   supervisor's strategy applies to its siblings (`one_for_all` restarts every sibling,
 *   `rest_for_one` the ones after it). Restarting an actor child puts its state back to its
 *   last checkpoint and runs `onActivate` again; stopping it stops the activation within the
 *   child's `shutdownMs`. An exit the tree ignores (the worker is already down) falls back to
 *   the type's own per-instance supervision.
 */
import { modelDirective } from "../models/mod.ts"
import type { NatsConnection } from "@nats-io/nats-core"
import { actorName, supervisorSubject } from "../../subjects/grammar.ts"
import type { SupervisorEvent } from "../../subjects/envelope.ts"
import {
  actorSupervisor,
  defaultNodeTree,
  eventAddress,
  placedTypes,
  SupervisionTree,
  SupervisorSpecError,
  workerActors,
  type ChildPath,
  type NodeTreeOverrides,
  type Shutdown,
  type SupervisorSnapshot,
  type TypePolicyInput,
  type TypeStatus,
  type WorkerActor,
} from "../../supervisors/mod.ts"
import type { AgentDefinition } from "../agent/define-agent.ts"
import type { Supervisor } from "../actor/supervision.ts"

const encoder = new TextEncoder()

/** What to reset: an agent type's child (wherever it sits), or a path of child ids (`[]`: the whole tree). */
export interface ResetTarget {
  readonly type?: string
  readonly path?: ChildPath
}

/** The node's supervision tree as the node exposes it (`node.supervision`): read-only, plus reset. */
export interface SupervisionView {
  /** Plain data about the subtree at `path` (default: the whole tree). */
  inspect(path?: ChildPath): SupervisorSnapshot | undefined
  /** Whether `type` is served on this node now, and if not, why. */
  typeStatus(type: string): TypeStatus
  /** Where `type` sits in the tree. */
  pathOf(type: string): ChildPath | undefined
  /** The singleton actors run by worker children, with their paths. */
  workers(): ReadonlyArray<{ readonly path: ChildPath; readonly actor: WorkerActor }>
  /**
   * An operator's reset (OTP has none; `supervisor:restart_child` is the nearest): the subtree
   * counts as freshly started (windows cleared, give-ups forgotten), its types serve again and
   * its workers' actors are woken by the node. Published as a `restart` decision. Throws a
   * `SupervisorSpecError` for an unknown type or path.
   */
  reset(target?: ResetTarget): SupervisorSnapshot
}

export interface NodeSupervision extends Supervisor {
  readonly tree: SupervisionTree
  readonly view: SupervisionView
  /** Whether the worker running this actor is up (not stopped, given up or in its restart delay). */
  workerUp(actor: { readonly tenant: string; readonly type: string; readonly id: string }): boolean | undefined
}

export interface NodeSupervisionOptions {
  readonly nodeId: string
  readonly nc: NatsConnection
  readonly agents: ReadonlyArray<AgentDefinition<any, any>>
  readonly overrides?: NodeTreeOverrides
  readonly log: (level: "info" | "warn" | "error", message: string) => void
  /** A type child was stopped by its supervisor (gave up, or taken down with a sibling). */
  readonly onTypeDown: (type: string, reason: string, shutdownMs: Shutdown) => void
  /** An operator reset a subtree holding this type: free its actors stuck in a handler. */
  readonly onTypeReset?: (type: string, reason: string) => void
  /** A type child was restarted by its supervisor (or reset): serve again after `delayMs`. */
  readonly onTypeUp: (type: string, delayMs: number) => void
  /** Restart the live activation of a worker's actor (if any) after `delayMs`. */
  readonly restartActor?: (actor: WorkerActor, delayMs: number, shutdownMs: Shutdown) => void
  /** Stop the live activation of a worker's actor (if any) within `shutdownMs`. */
  readonly stopActor?: (actor: WorkerActor, reason: string, shutdownMs: Shutdown) => void
}


export function createNodeSupervision(o: NodeSupervisionOptions): NodeSupervision {
  const types: Record<string, TypePolicyInput> = { ...o.overrides?.types }
  for (const def of o.agents) {
    const policy = { ...(def.supervision as TypePolicyInput | undefined), ...types[def.type] }
    // Model errors are handled as the models layer says (resume, or escalate a spent budget)
    // before the type's own decider sees anything else.
    const own = policy.decider
    types[def.type] = { ...policy, decider: (e: unknown) => modelDirective(e) ?? (own ? own(e) : "restart") }
  }
  const typeNames = new Set(o.agents.map((a) => a.type))
  for (const placed of placedTypes(o.overrides?.children)) {
    if (!typeNames.has(placed)) {
      throw new SupervisorSpecError(`supervision.children places type "${placed}", which this node does not host (hosted: ${[...typeNames].join(", ") || "none"})`, "children")
    }
  }
  const spec = defaultNodeTree([...typeNames], { ...o.overrides, types })
  const bound = new Map<string, { path: ChildPath; actor: WorkerActor }>()
  for (const w of workerActors(spec)) {
    if (!typeNames.has(w.actor.type)) {
      throw new SupervisorSpecError(`worker "${w.path.join("/")}" runs an actor of type "${w.actor.type}", which this node does not host`, w.path.join("."))
    }
    const key = actorName(w.actor)
    const seen = bound.get(key)
    if (seen) throw new SupervisorSpecError(`actor ${w.actor.type}/${w.actor.id} is run by two workers (${seen.path.join("/")} and ${w.path.join("/")})`, w.path.join("."))
    bound.set(key, w)
  }

  // The failing worker is restarted through its own verdict, not through the callback.
  let failing: string | undefined
  // A worker stopped and restarted by one decision (one_for_all, rest_for_one) is restarted in
  // place; stops left over once the decision is carried out are real stops.
  const pendingStops = new Map<string, { actor: WorkerActor; reason: string; shutdownMs: Shutdown }>()
  let flushQueued = false
  const flushStops = () => {
    flushQueued = false
    const stops = [...pendingStops.values()]
    pendingStops.clear()
    for (const s of stops) o.stopActor?.(s.actor, s.reason, s.shutdownMs)
  }

  const publishEvent = (event: SupervisorEvent, target: Parameters<typeof eventAddress>[0]) => {
    try {
      o.nc.publish(supervisorSubject(eventAddress(target)), encoder.encode(JSON.stringify(event)))
    } catch (e) {
      o.log("warn", `could not publish a supervisor decision: ${(e as Error).message}`)
    }
  }

  const tree: SupervisionTree = new SupervisionTree(
    spec,
    {
      restartChild(path, delayMs, info) {
        const id = path[path.length - 1]
        if (info.kind === "type" && typeNames.has(id)) o.onTypeUp(id, delayMs)
        if (info.kind === "worker" && info.actor) {
          const key = actorName(info.actor)
          pendingStops.delete(key)
          if (key !== failing) o.restartActor?.(info.actor, delayMs, info.shutdownMs)
        }
      },
      stopChild(path, info) {
        const id = path[path.length - 1]
        if (info.kind === "type" && typeNames.has(id)) {
          const status = tree.typeStatus(id)
          o.onTypeDown(id, status === "available" ? "stopped by its supervisor" : status.reason, info.shutdownMs)
        }
        if (info.kind === "worker" && info.actor) {
          const reason = tree.inspect(path)?.reason ?? "stopped by its supervisor"
          pendingStops.set(actorName(info.actor), { actor: info.actor, reason, shutdownMs: info.shutdownMs })
          if (!flushQueued) {
            flushQueued = true
            queueMicrotask(flushStops)
          }
        }
      },
      publish: publishEvent,
      now: () => Date.now(),
      random: () => Math.random(),
      onRootGaveUp(reason) {
        o.log("error", `the root supervisor of node ${o.nodeId} gave up (${reason}): every agent type is unavailable on this node until it is reset`)
        for (const type of typeNames) o.onTypeDown(type, `root supervisor gave up: ${reason}`, 0)
      },
      onError(error, where) {
        o.log("error", `supervision callback ${where} failed: ${(error as Error)?.message ?? error}`)
      },
    },
    { node: o.nodeId },
  )
  const instances = actorSupervisor(tree)

  const workerUp = (actor: { readonly tenant: string; readonly type: string; readonly id: string }): boolean | undefined => {
    const w = bound.get(actorName(actor))
    if (w === undefined) return undefined
    return tree.inspect(w.path)?.status === "running"
  }

  const pathOf = (type: string): ChildPath | undefined => findType(tree.inspect([]), type)

  const view: SupervisionView = {
    inspect: (path = []) => tree.inspect(path),
    typeStatus: (type) => tree.typeStatus(type),
    pathOf,
    workers: () => [...bound.values()],
    reset(target = {}) {
      let path: ChildPath = target.path ?? []
      if (target.type !== undefined) {
        const p = pathOf(target.type)
        if (p === undefined) throw new SupervisorSpecError(`type "${target.type}" is not supervised on node ${o.nodeId}`, "type")
        path = p
      }
      tree.reset(path) // throws for an unknown path
      const snapshot = tree.inspect(path)!
      // the subtree counts as freshly started: actors stuck in a handler are freed too
      for (const type of typeNames) {
        const p = pathOf(type)
        if (p !== undefined && path.every((id, i) => p[i] === id)) o.onTypeReset?.(type, `reset by an operator: ${snapshot.name} counts as freshly started`)
      }
      for (const type of typeNames) if (tree.typeStatus(type) === "available") o.onTypeUp(type, 0)
      publishEvent(
        { directive: "restart", reason: `reset by an operator: ${snapshot.name} counts as freshly started`, restarts: 0, node: o.nodeId, at: new Date().toISOString(), supervisor: snapshot.name },
        { kind: "child", path, childKind: snapshot.kind },
      )
      o.log("info", `supervision reset on node ${o.nodeId}: ${snapshot.name}`)
      return snapshot
    },
  }

  return {
    tree,
    view,
    workerUp,
    actorFailed(type, actor, error) {
      const w = bound.get(actorName({ tenant: actor.tenant, type, id: actor.id }))
      if (w !== undefined) {
        failing = actorName(w.actor)
        let decisions
        try {
          decisions = tree.childFailed(w.path, error)
        } finally {
          failing = undefined
        }
        const d = decisions[0]
        if (d !== undefined) {
          const id = w.path[w.path.length - 1]
          if (d.restart.includes(id)) return { directive: "restart", backoffMs: d.backoffMs, supervisor: d.supervisor }
          return { directive: d.escalate ? "escalate" : "stop", supervisor: d.supervisor }
        }
        // the worker is down already (stopped, or its supervisor gave up): the type supervises it
      }
      // A type that gave up was already stopped (and maybe restarted, `typeRestart: "permanent"`)
      // through the tree's callbacks: the host must not stop it a second time.
      const { typeGaveUp: _handled, ...verdict } = instances.actorFailed(type, actor, error)
      return verdict
    },
  }
}

function findType(node: SupervisorSnapshot | undefined, type: string): ChildPath | undefined {
  if (node === undefined) return undefined
  if (node.kind === "type" && node.path[node.path.length - 1] === type) return node.path
  for (const c of node.children ?? []) {
    const p = findType(c, type)
    if (p !== undefined) return p
  }
  return undefined
}
