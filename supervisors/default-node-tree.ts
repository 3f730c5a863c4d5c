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
 *   `reset([type])`. Being temporary, its give-up never counts toward the root's intensity,
 *   so one bad type cannot take the node's other types down with it. Set
 *   `typeRestart: "permanent"` to have the root restart a type that gave up after the root's
 *   backoff instead (OTP-style, counted toward the root's intensity);
 * - extra `children` (singleton workers, nested supervisors) start before the types, so the
 *   services types depend on are up first and stopped last. Their restarts count toward the
 *   root's intensity, and a root that gives up makes every type unavailable on the node: put
 *   a worker that may crash repeatedly under its own supervisor with a suitable intensity.
 */
import {
  defineSupervisor,
  type ChildSpecInput,
  type RestartType,
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

/** The resolved spec of a node's default tree; pass it to `new SupervisionTree(...)`. */
export function defaultNodeTree(types: ReadonlyArray<string>, overrides: NodeTreeOverrides = {}): SupervisorSpec {
  const typeChildren: ChildSpecInput[] = types.map((type) => ({
    id: type,
    kind: "type",
    restart: overrides.typeRestart ?? DEFAULT_TYPE_RESTART,
    policy: {
      ...overrides.policy,
      ...overrides.types?.[type],
      backoff: { ...overrides.policy?.backoff, ...overrides.types?.[type]?.backoff },
    },
  }))
  const { children: _ignored, ...flags } = (overrides.root ?? {}) as SupervisorSpecInput
  return defineSupervisor({ strategy: "one_for_one", ...flags, children: [...(overrides.children ?? []), ...typeChildren] })
}
