/**
 * Which actor address a published decision goes under, so that every decision lands on
 * ants._sys.supervisor.<tenant>.<type>.<id> and a subscriber to one type
 * (ants._sys.supervisor.*.<type>.*) sees that type's instance and type-level decisions.
 *
 * Convention (the runtime builds the subject with `supervisorSubject` from `subjects/`):
 * - an actor instance: its own tenant (default tenant when none), type and id;
 * - a `type` child (the type's supervisor, decided by its parent): `<defaultTenant>.<type>._type`;
 * - a worker or a nested supervisor: `<defaultTenant>._tree.<ids joined by "__">`.
 * `_type` and `_tree` begin with `_`, so they never collide with user-chosen ids and types.
 */
import type { DecisionTarget } from "./tree.ts"

export interface EventAddress {
  readonly tenant: string
  readonly type: string
  readonly id: string
}

export const TYPE_EVENT_ID = "_type"
export const TREE_EVENT_TYPE = "_tree"

export function eventAddress(target: DecisionTarget, defaultTenant = "default"): EventAddress {
  if (target.kind === "actor") return { tenant: target.tenant ?? defaultTenant, type: target.type, id: target.id }
  if (target.childKind === "type") return { tenant: defaultTenant, type: target.path[target.path.length - 1], id: TYPE_EVENT_ID }
  return { tenant: defaultTenant, type: TREE_EVENT_TYPE, id: target.path.length === 0 ? "root" : target.path.join("__") }
}
