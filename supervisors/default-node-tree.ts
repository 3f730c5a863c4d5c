/**
 * The supervision tree every node gets unless told otherwise: one root supervisor with each
 * hosted agent type under it as a `type` child.
 *
 * Defaults, and why:
 * - root: `one_for_one` (types are independent), OTP's intensity of 1 restart in 5000 ms
 *   (it only matters for extra worker/supervisor children; see below);
 * - each type: `restart: "temporary"`, the default `TypePolicy` (3 restarts per instance in
 *   10 s; the type gives up beyond 10 escalations in 60 s). A type gives up only after a
 *   sustained storm of failing instances, which a blind restart seldom cures, so it stays
 *   `unavailable` on this node (other nodes may still host it) until an operator calls
 *   `node.supervision.reset({ type })` (or sends ants._sys.node.<id>.supervision.reset).
 *   Being temporary, its give-up never counts toward the root's intensity, so one bad type
 *   cannot take the node's other types down with it. Set
 *   `typeRestart: "permanent"` to have the root restart a type that gave up after the root's
 *   backoff instead (OTP-style, counted toward the root's intensity);
 * - extra `children` (singleton workers, nested supervisors) start before the types, so the
 *   services types depend on are up first and stopped last. Their restarts count toward the
 *   root's intensity, and a root that gives up makes every type unavailable on the node: put
 *   a worker that may crash repeatedly under its own supervisor with a suitable intensity;
 * - a type you place yourself (a `kind: "type"` child anywhere in `children`, e.g. under a
 *   `one_for_all` supervisor of your own) is not added to the root a second time. It keeps
 *   the restart type you wrote (the child default, `permanent`), and its policy is the type's
 *   policy (`policy`, then `types[type]`) overlaid by the child's own `policy`.
 */
import {
  defineSupervisor,
  type ChildSpecInput,
  type RestartType,
  type WorkerActor,
  type SupervisorSpec,
  type SupervisorSpecInput,
  type TypePolicyInput,
} from "./spec.ts"

export interface NodeTreeOverrides {
  /** Root flags (strategy, intensity, periodMs, backoff); `children` here is ignored. */
  readonly root?: Omit<SupervisorSpecInput, "children">
  /** Policy for every type, before per-type overrides. */
  readonly policy?: TypePolicyInput
  /** Per-type policy overrides, by type name. */
  readonly types?: Readonly<Record<string, TypePolicyInput>>
  /** Restart type of the type children. Default `"temporary"`. */
  readonly typeRestart?: RestartType
  /** Extra children of the root, started before the types. */
  readonly children?: ReadonlyArray<ChildSpecInput>
}

export const DEFAULT_TYPE_RESTART: RestartType = "temporary"

function typePolicy(type: string, overrides: NodeTreeOverrides, own?: TypePolicyInput): TypePolicyInput {
  return {
    ...overrides.policy,
    ...overrides.types?.[type],
    ...own,
    backoff: { ...overrides.policy?.backoff, ...overrides.types?.[type]?.backoff, ...own?.backoff },
  }
}

/** Fills the policies of the type children a user placed in `children` (recursively). */
function placeChildren(children: ReadonlyArray<ChildSpecInput>, overrides: NodeTreeOverrides): ChildSpecInput[] {
  return children.map((c) => {
    if (c === null || typeof c !== "object") return c
    if (c.kind === "type") return { ...c, policy: typePolicy(c.id, overrides, c.policy) }
    if (c.kind === "supervisor" && c.spec && Array.isArray(c.spec.children)) {
      return { ...c, spec: { ...c.spec, children: placeChildren(c.spec.children, overrides) } }
    }
    return c
  })
}

/** Ids of the `kind: "type"` children anywhere in `children` (nested supervisors included). */
export function placedTypes(children: ReadonlyArray<ChildSpecInput> = []): string[] {
  const out: string[] = []
  const walk = (cs: ReadonlyArray<ChildSpecInput>) => {
    for (const c of cs) {
      if (c === null || typeof c !== "object") continue
      if (c.kind === "type") out.push(c.id)
      else if (c.kind === "supervisor" && Array.isArray(c.spec?.children)) walk(c.spec!.children!)
    }
  }
  walk(children)
  return out
}

/** Every worker of a resolved spec that runs a singleton actor, with its path from the root. */
export function workerActors(spec: SupervisorSpec): Array<{ readonly path: ReadonlyArray<string>; readonly actor: WorkerActor }> {
  const out: Array<{ path: ReadonlyArray<string>; actor: WorkerActor }> = []
  const walk = (s: SupervisorSpec, base: ReadonlyArray<string>) => {
    for (const c of s.children) {
      if (c.kind === "worker" && c.actor) out.push({ path: [...base, c.id], actor: c.actor })
      if (c.kind === "supervisor") walk(c.spec!, [...base, c.id])
    }
  }
  walk(spec, [])
  return out
}

/** The resolved spec of a node's default tree; pass it to `new SupervisionTree(...)`. */
export function defaultNodeTree(types: ReadonlyArray<string>, overrides: NodeTreeOverrides = {}): SupervisorSpec {
  const placed = new Set(placedTypes(overrides.children))
  const typeChildren: ChildSpecInput[] = types
    .filter((type) => !placed.has(type))
    .map((type) => ({ id: type, kind: "type", restart: overrides.typeRestart ?? DEFAULT_TYPE_RESTART, policy: typePolicy(type, overrides) }))
  const { children: _ignored, ...flags } = (overrides.root ?? {}) as SupervisorSpecInput
  return defineSupervisor({ strategy: "one_for_one", ...flags, children: [...placeChildren(overrides.children ?? [], overrides), ...typeChildren] })
}
