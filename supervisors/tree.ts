/**
 * `SupervisionTree`: the driver that applies supervisor decisions, with no transport in it.
 * The runtime gives it callbacks (implemented with NATS) and reports exits and failures; the
 * tree keeps every supervisor's state, asks the pure functions (`decide`, `decideActor`)
 * what to do, and calls back in the order OTP would act.
 *
 * How the runtime drives it:
 * - `childExited(path, reason)` / `childFailed(path, error)` when a static child (a worker,
 *   a nested supervisor or a whole type) stops on its own; `path` lists child ids from the
 *   root. Do not report the end of a child the tree asked you to stop (`stopChild`): the
 *   tree already knows, and the child may already count as restarted.
 * - `actorFailed(type, actorId, error, { tenant })` when a handler of an actor instance
 *   throws; the answer says what to do with that actor (`resume`, `restart` after
 *   `backoffMs`, `stop`) and whether the type gave up.
 * - `typeStatus(type)` before activating or delivering: `"available"` or
 *   `{ unavailable: true, reason }`, which the runtime answers as `unavailable`.
 * - `forgetActor` when an instance is passivated or deleted (optional: windows also expire).
 * - `reset(path?)` after an operator action: the subtree counts as freshly started.
 * - `startChild(child, parentPath?)` to add a child (e.g. an agent type registered late).
 *
 * Promises:
 * - every decision is published once, with a `SupervisorEvent` (`subjects/envelope.ts`) and
 *   a target saying whom it concerns; ignored exits are not decisions and are not published;
 * - stops come before restarts; stops run children-first in reverse start order, restarts
 *   parent-first in start order (a nested supervisor restarts with a fresh window and all its
 *   children, as OTP re-runs its init);
 * - a supervisor that gives up stops its children and escalates to its parent as an abnormal
 *   exit (`SupervisorGaveUpError`); when the root gives up the tree reports it through
 *   `publish` and `onRootGaveUp` and stays put (the node must stay up); until `reset`, every
 *   type answers `unavailable`;
 * - callbacks that throw are reported to `onError` and do not corrupt the tree's state.
 *
 * `now()` is wall-clock ms (`Date.now`), since events carry it as an ISO time.
 */
import { TaggedError } from "../subjects/errors.ts"
import type { SupervisorEvent } from "../subjects/envelope.ts"
import { decide, initialState, type Decision } from "./decide.ts"
import { describeError, type ExitReason } from "./exit-reason.ts"
import { EMPTY_WINDOW, prune } from "./restart-window.ts"
import type { ChildStatus } from "./restart-plan.ts"
import {
  SupervisorSpecError,
  defineSupervisor,
  type ChildKind,
  type ChildSpecInput,
  type SupervisorSpec,
  type SupervisorSpecInput,
} from "./spec.ts"
import {
  buildChild,
  buildNodes,
  downReasonOf,
  lookupNode,
  snapshotOf,
  type ChildInfo,
  type ChildPath,
  type SupNode,
  type SupervisorSnapshot,
  type TreeNode,
  type TypeNode,
} from "./tree-nodes.ts"
import { decideActor, type ActorDecision } from "./type-supervisor.ts"

export type { ChildInfo, ChildPath, SupervisorSnapshot } from "./tree-nodes.ts"

/** Whom a published decision concerns, so the runtime can pick the subject. */
export type DecisionTarget =
  | { readonly kind: "child"; readonly path: ChildPath; readonly childKind: ChildKind }
  | { readonly kind: "actor"; readonly type: string; readonly id: string; readonly tenant?: string; readonly path: ChildPath }

export interface SupervisionCallbacks {
  /** Start the child at `path` again after `delayMs`. Called parent-first for nested supervisors. */
  restartChild(path: ChildPath, delayMs: number, info: ChildInfo): void
  /** Stop the child at `path` within `info.shutdownMs`. Called children-first. */
  stopChild(path: ChildPath, info: ChildInfo): void
  /** Publish one decision (on ants._sys.supervisor.<tenant>.<type>.<id>). */
  publish(event: SupervisorEvent, target: DecisionTarget): void
  /** Wall-clock ms. */
  now(): number
  /** Uniform in [0, 1). */
  random(): number
  /** The root gave up: the node stays up, every type is unavailable until `reset()`. */
  onRootGaveUp?(reason: string): void
  /** A callback threw; the tree carried on. Default: `console.error`. */
  onError?(error: unknown, where: string): void
}

export interface SupervisionTreeOptions {
  /** Node id carried in events. Default `"local"`. */
  readonly node?: string
  /** The root supervisor's name in events. Default `"root"`. */
  readonly name?: string
}

/** Availability of an agent type on this node. */
export type TypeStatus = "available" | { readonly unavailable: true; readonly reason: string }

/** The reason a supervisor (or a type) hands its parent when it gives up. */
export class SupervisorGaveUpError extends TaggedError("SupervisorGaveUpError") {
  constructor(
    readonly supervisor: string,
    readonly reason: string,
  ) {
    super(`supervisor ${supervisor} gave up: ${reason}`)
  }
}

/** A decision made by the tree, with the supervisor that made it and the child's path. */
export interface TreeDecision extends Decision {
  readonly supervisor: string
  readonly path: ChildPath
}

export interface ActorFailureResult extends ActorDecision {
  readonly type: string
  readonly actorId: string
  /** The supervisor that decided (the type's, e.g. `root/billing`). */
  readonly supervisor: string
  /** Decisions taken up the tree when the type gave up (empty otherwise). */
  readonly escalation: ReadonlyArray<TreeDecision>
}

// Instance windows are swept of expired entries every this many actor failures, so a type
// that saw 100,000 actors fail once does not keep 100,000 windows forever.
const SWEEP_EVERY = 4096

export class SupervisionTree {
  private readonly node: string
  private readonly rootName: string
  private root: SupNode
  private types = new Map<string, TypeNode>()
  private failuresSinceSweep = 0

  constructor(
    spec: SupervisorSpecInput,
    private readonly callbacks: SupervisionCallbacks,
    options: SupervisionTreeOptions = {},
  ) {
    this.node = options.node ?? "local"
    this.rootName = options.name ?? "root"
    const built = buildNodes(defineSupervisor(spec), this.rootName)
    this.root = built.root
    this.types = built.types
  }

  /** The resolved root spec, including children started since. */
  get spec(): SupervisorSpec {
    return this.root.spec
  }

  /**
   * Adds a child to the supervisor at `parentPath` (default: the root), last in start order,
   * as OTP's `start_child`. The runtime starts it; the tree counts it as running from now.
   * Unlike OTP, the child survives restarts of its supervisor: the runtime added it for good.
   * Throws `SupervisorSpecError` for an invalid spec, a duplicate id or a type already supervised.
   */
  startChild(child: ChildSpecInput, parentPath: ChildPath = []): void {
    const sup = this.lookup(parentPath)
    if (sup === undefined || sup.kind !== "supervisor") {
      throw new SupervisorSpecError(`no supervisor at path ${JSON.stringify(parentPath)}`, "path")
    }
    const spec = defineSupervisor({ ...sup.spec, children: [...sup.spec.children, child] })
    const resolved = spec.children[spec.children.length - 1]
    // Build into a scratch registry first so a duplicate type leaves the tree untouched.
    const scratch = new Map(this.types)
    const node = buildChild(resolved, sup, scratch)
    this.types = scratch
    sup.spec = spec
    sup.children.set(resolved.id, node)
    sup.state = {
      ...sup.state,
      spec,
      children: [...sup.state.children, { id: resolved.id, kind: resolved.kind, restart: resolved.restart, status: "running" }],
    }
  }

  // -------------------------------------------------------------------------------------
  // Static children

  /** A child at `path` terminated with an error. */
  childFailed(path: ChildPath, error: unknown): ReadonlyArray<TreeDecision> {
    return this.childExited(path, { error })
  }

  /**
   * A child at `path` terminated. Returns every decision taken, the child's supervisor's
   * first, then any escalation up the tree (empty when the exit was ignored).
   */
  childExited(path: ChildPath, reason: ExitReason): ReadonlyArray<TreeDecision> {
    const node = this.lookup(path)
    if (node === undefined || node.parent === undefined) return []
    const out: TreeDecision[] = []
    this.handleExit(node.parent, node, reason, out)
    return out
  }

  // -------------------------------------------------------------------------------------
  // Dynamic actor instances of a type

  /** A handler of actor `actorId` of `type` threw `error`. */
  actorFailed(type: string, actorId: string, error: unknown, options: { readonly tenant?: string } = {}): ActorFailureResult {
    const now = this.callbacks.now()
    const node = this.types.get(type)
    if (node === undefined) {
      return {
        type,
        actorId,
        supervisor: this.rootName,
        directive: "stop",
        published: "stop",
        reason: `type "${type}" is not supervised on this node`,
        backoffMs: 0,
        restarts: 0,
        escalated: false,
        escalations: 0,
        typeGaveUp: true,
        escalation: [],
      }
    }
    const key = options.tenant === undefined ? actorId : `${options.tenant}\u0000${actorId}`
    const down = this.downReason(node)
    const { decision, instanceWindow, typeWindow } = decideActor({
      policy: node.policy,
      instanceWindow: node.instances.get(key),
      typeWindow: node.typeWindow,
      typeGaveUp: down !== undefined,
      error,
      now,
      random: this.callbacks.random(),
    })
    if (instanceWindow === undefined) node.instances.delete(key)
    else node.instances.set(key, instanceWindow)
    node.typeWindow = typeWindow
    this.publish(
      {
        directive: decision.published,
        reason: decision.reason,
        restarts: decision.restarts,
        ...(decision.directive === "restart" ? { backoffMs: decision.backoffMs } : {}),
      },
      node.name,
      { kind: "actor", type, id: actorId, ...(options.tenant === undefined ? {} : { tenant: options.tenant }), path: node.path },
      now,
    )
    const escalation: TreeDecision[] = []
    if (decision.typeGaveUp && down === undefined) {
      node.gaveUp = true
      this.halt(node, decision.reason, true)
      this.handleExit(node.parent, node, { error: new SupervisorGaveUpError(node.name, decision.reason) }, escalation)
    }
    if (++this.failuresSinceSweep >= SWEEP_EVERY) this.sweep(now)
    return { ...decision, type, actorId, supervisor: node.name, escalation }
  }

  /** Drops an instance's restart window (e.g. when it is passivated or deleted). */
  forgetActor(type: string, actorId: string, options: { readonly tenant?: string } = {}): void {
    this.types.get(type)?.instances.delete(options.tenant === undefined ? actorId : `${options.tenant}\u0000${actorId}`)
  }

  /** Whether `type` may be activated on this node now, and if not, why. */
  typeStatus(type: string): TypeStatus {
    const node = this.types.get(type)
    if (node === undefined) return { unavailable: true, reason: `type "${type}" is not supervised on this node` }
    const down = this.downReason(node)
    if (down !== undefined) return { unavailable: true, reason: down }
    const now = this.callbacks.now()
    for (let n: TreeNode | undefined = node; n !== undefined; n = n.parent) {
      if (n.availableAt > now) return { unavailable: true, reason: `${n.name} restarting in ${n.availableAt - now} ms` }
    }
    return "available"
  }

  /** The agent types this tree supervises. */
  supervisedTypes(): ReadonlyArray<string> {
    return [...this.types.keys()]
  }

  /** Restart counts within their periods, for inspection. */
  restartsOf(path: ChildPath = []): number {
    const node = this.lookup(path)
    if (node === undefined || node.kind === "worker") return 0
    const now = this.callbacks.now()
    return node.kind === "supervisor"
      ? prune(node.state.window, now, node.spec.periodMs).length
      : prune(node.typeWindow, now, node.policy.typePeriodMs).length
  }

  /** Plain data about the subtree at `path` (default: the whole tree), for inspection. */
  inspect(path: ChildPath = []): SupervisorSnapshot | undefined {
    const node = this.lookup(path)
    return node === undefined ? undefined : snapshotOf(node, this.callbacks.now())
  }

  /**
   * Marks the subtree at `path` (default: the whole tree) as freshly started: windows cleared,
   * children running, give-ups forgotten. Calls no callback: the caller starts what it resets.
   */
  reset(path: ChildPath = []): void {
    const node = this.lookup(path)
    if (node === undefined) throw new SupervisorSpecError(`no child at path ${JSON.stringify(path)}`, "path")
    this.startFresh(node, 0)
    if (node.parent !== undefined) this.setStatus(node.parent, node.path[node.path.length - 1], "running")
  }

  // -------------------------------------------------------------------------------------
  // Internals

  private lookup(path: ChildPath): TreeNode | undefined {
    return lookupNode(this.root, path)
  }

  private downReason(node: TreeNode): string | undefined {
    return downReasonOf(node)
  }

  private handleExit(sup: SupNode, child: TreeNode, reason: ExitReason, out: TreeDecision[]): void {
    const now = this.callbacks.now()
    const childId = child.path[child.path.length - 1]
    const { decision, nextState } = decide(sup.state, { childId, reason }, now, this.callbacks.random())
    if (decision.ignored) return
    sup.state = nextState
    out.push({ ...decision, supervisor: sup.name, path: child.path })
    this.publish(
      {
        directive: decision.directive,
        reason: decision.reason,
        restarts: decision.restarts,
        ...(decision.directive === "restart" ? { backoffMs: decision.backoffMs } : {}),
      },
      sup.name,
      { kind: "child", path: child.path, childKind: child.info.kind },
      now,
    )
    // The exited child is dead already; its own subtree (if any) must not outlive it.
    this.halt(child, `${child.name} exited (${decision.reason})`, false)
    for (const id of decision.stop) this.halt(sup.children.get(id)!, decision.reason, true)
    for (const id of decision.restart) this.restart(sup.children.get(id)!, decision.backoffMs, now)
    if (!decision.escalate) return
    sup.downReason = decision.reason
    if (sup.parent === undefined) {
      this.safely("onRootGaveUp", () => this.callbacks.onRootGaveUp?.(decision.reason))
      return
    }
    this.handleExit(sup.parent, sup, { error: new SupervisorGaveUpError(sup.name, decision.reason) }, out)
  }

  /** Stops `node`'s subtree children-first; `self` also stops the node itself. */
  private halt(node: TreeNode, why: string, self: boolean): void {
    if (node.kind === "supervisor") {
      const running = node.state.children.filter((c) => c.status === "running").reverse()
      for (const c of running) this.halt(node.children.get(c.id)!, why, true)
      node.state = {
        ...node.state,
        children: node.state.children.map((c) => ({
          ...c,
          status: (c.status === "removed" || c.restart === "temporary" ? "removed" : "stopped") as ChildStatus,
        })),
      }
    }
    if (node.kind === "type") {
      node.instances = new Map()
    }
    if (node.downReason === undefined) node.downReason = why
    if (self) this.safely("stopChild", () => this.callbacks.stopChild(node.path, node.info))
  }

  /** Restarts `node`'s subtree parent-first, fresh, after `delayMs`. */
  private restart(node: TreeNode, delayMs: number, now: number): void {
    this.startFresh(node, now + delayMs, (n) => this.safely("restartChild", () => this.callbacks.restartChild(n.path, delayMs, n.info)))
  }

  /** Resets a subtree to freshly started, parent first, calling `each` (if any) on every node before its reset. */
  private startFresh(node: TreeNode, availableAt: number, each?: (node: TreeNode) => void): void {
    each?.(node)
    node.downReason = undefined
    node.availableAt = availableAt
    if (node.kind === "type") {
      node.instances = new Map()
      node.typeWindow = EMPTY_WINDOW
      node.gaveUp = false
    }
    if (node.kind === "supervisor") {
      node.state = initialState(node.spec)
      for (const c of node.spec.children) this.startFresh(node.children.get(c.id)!, availableAt, each)
    }
  }

  private setStatus(sup: SupNode, id: string, status: ChildStatus): void {
    sup.state = { ...sup.state, children: sup.state.children.map((c) => (c.id === id ? { ...c, status } : c)) }
  }

  private sweep(now: number): void {
    this.failuresSinceSweep = 0
    for (const node of this.types.values()) {
      for (const [key, window] of node.instances) {
        if (prune(window, now, node.policy.periodMs).length === 0) node.instances.delete(key)
      }
    }
  }

  private publish(
    fields: Pick<SupervisorEvent, "directive" | "reason" | "restarts" | "backoffMs">,
    supervisor: string,
    target: DecisionTarget,
    now: number,
  ): void {
    const event: SupervisorEvent = {
      directive: fields.directive,
      reason: fields.reason,
      restarts: fields.restarts,
      node: this.node,
      at: new Date(now).toISOString(),
      supervisor,
      ...(fields.backoffMs === undefined ? {} : { backoffMs: fields.backoffMs }),
    }
    this.safely("publish", () => this.callbacks.publish(event, target))
  }

  private safely(where: string, f: () => void): void {
    try {
      f()
    } catch (e) {
      try {
        if (this.callbacks.onError) this.callbacks.onError(e, where)
        else console.error(`ants supervisor: ${where} callback failed: ${describeError(e)}`)
      } catch {
        // Nothing left to report to; the tree's state is already consistent.
      }
    }
  }
}
