/**
 * What a restart strategy produces: which children to stop and which to restart, in OTP
 * order. Shared by the three strategy files.
 *
 * A plan for a group of children (the failed one plus the siblings its strategy takes down):
 * - `stop`: the group's running children other than the failed one (it is already dead), in
 *   reverse start order, as OTP terminates them;
 * - `restart`: the group's non-temporary children, in start order, the failed one included.
 *   Children of the group that were already stopped (a transient child that exited normally)
 *   are started again too, as OTP's `start_children` does;
 * - `remove`: the group's temporary children: stopped and forgotten, never restarted (OTP).
 */
import type { ChildKind, RestartType } from "./spec.ts"

/** `removed`: a temporary child that exited or was stopped; strategies skip it for good. */
export type ChildStatus = "running" | "stopped" | "removed"

export interface ChildState {
  readonly id: string
  readonly kind: ChildKind
  readonly restart: RestartType
  readonly status: ChildStatus
}

export interface RestartPlan {
  readonly stop: ReadonlyArray<string>
  readonly restart: ReadonlyArray<string>
  readonly remove: ReadonlyArray<string>
}

/** A strategy picks the group of children to cycle when `failedId` must be restarted. */
export type RestartStrategy = (children: ReadonlyArray<ChildState>, failedId: string) => RestartPlan

/** Builds the OTP-ordered plan for `group`, given in start order. */
export function planGroup(group: ReadonlyArray<ChildState>, failedId: string): RestartPlan {
  const stop: string[] = []
  const restart: string[] = []
  const remove: string[] = []
  for (const c of group) {
    if (c.status === "removed") continue
    if (c.id !== failedId && c.status === "running") stop.push(c.id)
    if (c.restart === "temporary" && c.id !== failedId) remove.push(c.id)
    else restart.push(c.id)
  }
  stop.reverse()
  return { stop, restart, remove }
}
