/**
 * The tree driver's bookkeeping: one node per supervisor, worker and agent type, built from
 * a resolved spec, with the lookups `tree.ts` needs. Internal to `supervisors/`.
 *
 * A node is down when it, or any ancestor, gave up, was stopped or was forgotten; `downReason`
 * keeps the first reason recorded so `typeStatus` can tell the runtime why.
 */
import { initialState, type SupervisorState } from "./decide.ts"
import { EMPTY_WINDOW, prune, type RestartWindow } from "./restart-window.ts"
import { SupervisorSpecError, type ChildKind, type ChildSpec, type Shutdown, type SupervisorSpec, type TypePolicy, type WorkerActor } from "./spec.ts"

/** Child ids from the root down; `[]` is the root itself. */
export type ChildPath = ReadonlyArray<string>

export interface ChildInfo {
  readonly kind: ChildKind
  readonly shutdownMs: Shutdown
  /** Workers only: the singleton actor the worker runs. */
  readonly actor?: WorkerActor
}

export interface SupNode {
  readonly kind: "supervisor"
  readonly path: ChildPath
  readonly name: string
  /** Replaced (never mutated) when a child is started dynamically. */
  spec: SupervisorSpec
  readonly info: ChildInfo
  readonly parent: SupNode | undefined
  readonly children: Map<string, TreeNode>
  state: SupervisorState
  downReason: string | undefined
  availableAt: number
}

export interface TypeNode {
  readonly kind: "type"
  readonly path: ChildPath
  readonly name: string
  readonly policy: TypePolicy
  readonly info: ChildInfo
  readonly parent: SupNode
  /** Restart windows of the instances that failed recently, by tenant and actor id. */
  instances: Map<string, RestartWindow>
  typeWindow: RestartWindow
  gaveUp: boolean
  downReason: string | undefined
  availableAt: number
}

export interface WorkerNode {
  readonly kind: "worker"
  readonly path: ChildPath
  readonly name: string
  readonly info: ChildInfo
  readonly parent: SupNode
  downReason: string | undefined
  availableAt: number
}

export type TreeNode = SupNode | TypeNode | WorkerNode

/** Builds the nodes of a resolved spec; a type may appear only once in a tree. */
export function buildNodes(spec: SupervisorSpec, rootName: string): { root: SupNode; types: Map<string, TypeNode> } {
  const types = new Map<string, TypeNode>()
  const root = makeSup(spec, [], rootName, undefined, { kind: "supervisor", shutdownMs: "infinity" }, types)
  return { root, types }
}

function makeSup(
  spec: SupervisorSpec,
  path: ChildPath,
  name: string,
  parent: SupNode | undefined,
  info: ChildInfo,
  types: Map<string, TypeNode>,
): SupNode {
  const sup: SupNode = {
    kind: "supervisor",
    path,
    name,
    spec,
    info,
    parent,
    children: new Map(),
    state: initialState(spec),
    downReason: undefined,
    availableAt: 0,
  }
  for (const c of spec.children) sup.children.set(c.id, buildChild(c, sup, types))
  return sup
}

/** Builds the node (and subtree) of one resolved child spec, registering its types in `types`. */
export function buildChild(c: ChildSpec, parent: SupNode, types: Map<string, TypeNode>): TreeNode {
  const path = [...parent.path, c.id]
  const name = `${parent.name}/${c.id}`
  const info: ChildInfo = c.actor ? { kind: c.kind, shutdownMs: c.shutdownMs, actor: c.actor } : { kind: c.kind, shutdownMs: c.shutdownMs }
  if (c.kind === "supervisor") return makeSup(c.spec!, path, name, parent, info, types)
  if (c.kind === "worker") return { kind: "worker", path, name, info, parent, downReason: undefined, availableAt: 0 }
  const seen = types.get(c.id)
  if (seen !== undefined) {
    throw new SupervisorSpecError(`type "${c.id}" appears twice in the tree (at ${seen.name} and ${name})`, name)
  }
  const node: TypeNode = {
    kind: "type",
    path,
    name,
    policy: c.policy!,
    info,
    parent,
    instances: new Map(),
    typeWindow: EMPTY_WINDOW,
    gaveUp: false,
    downReason: undefined,
    availableAt: 0,
  }
  types.set(c.id, node)
  return node
}

export function lookupNode(root: SupNode, path: ChildPath): TreeNode | undefined {
  let node: TreeNode = root
  for (const id of path) {
    if (node.kind !== "supervisor") return undefined
    const next: TreeNode | undefined = node.children.get(id)
    if (next === undefined) return undefined
    node = next
  }
  return node
}

/** The status of `node` in its parent's state (`running` for the root). */
export function statusInParent(node: TreeNode): "running" | "stopped" | "removed" {
  if (node.parent === undefined) return "running"
  const id = node.path[node.path.length - 1]
  return node.parent.state.children.find((c) => c.id === id)?.status ?? "removed"
}

/** Why `node` is down (itself or an ancestor), or undefined when it is up. */
export function downReasonOf(node: TreeNode): string | undefined {
  for (let n: TreeNode | undefined = node; n !== undefined; n = n.parent) {
    if (n.downReason !== undefined) return n.downReason
    if (n.kind === "supervisor" && n.state.status === "gave_up") return `${n.name} gave up`
    if (n.kind === "type" && n.gaveUp) return `${n.name} gave up`
    const status = statusInParent(n)
    if (status !== "running") return `${n.name} is ${status}`
  }
  return undefined
}

/** A plain-data view of one node and its subtree, for node inspection. */
export interface SupervisorSnapshot {
  readonly name: string
  readonly path: ChildPath
  readonly kind: ChildKind
  readonly status: "running" | "restarting" | "stopped" | "removed" | "gave_up"
  /** Why the node is not running, when it is not. */
  readonly reason?: string
  /** Restarts (supervisor) or escalations (type) inside the period. */
  readonly restarts: number
  /** Types only: instances with restarts inside their period. */
  readonly failingInstances?: number
  readonly children?: ReadonlyArray<SupervisorSnapshot>
}

export function snapshotOf(node: TreeNode, now: number): SupervisorSnapshot {
  const gaveUp = (node.kind === "supervisor" && node.state.status === "gave_up") || (node.kind === "type" && node.gaveUp)
  const inParent = statusInParent(node)
  const status: SupervisorSnapshot["status"] = gaveUp
    ? "gave_up"
    : inParent !== "running"
      ? inParent
      : node.availableAt > now
        ? "restarting"
        : "running"
  const reason = status === "running" ? undefined : status === "restarting" ? `restarting in ${node.availableAt - now} ms` : node.downReason
  const base = { name: node.name, path: node.path, kind: node.info.kind, status, ...(reason === undefined ? {} : { reason }) }
  if (node.kind === "worker") return { ...base, restarts: 0 }
  if (node.kind === "type") {
    let failing = 0
    for (const w of node.instances.values()) if (prune(w, now, node.policy.periodMs).length > 0) failing++
    return { ...base, restarts: prune(node.typeWindow, now, node.policy.typePeriodMs).length, failingInstances: failing }
  }
  return {
    ...base,
    restarts: prune(node.state.window, now, node.spec.periodMs).length,
    children: node.spec.children.map((c) => snapshotOf(node.children.get(c.id)!, now)),
  }
}
