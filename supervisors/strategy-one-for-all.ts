/**
 * `one_for_all`: when one child must be restarted, every sibling is stopped (reverse start
 * order) and all are restarted (start order). Use it when children cannot work without one
 * another. Temporary siblings are stopped and not restarted (OTP).
 */
import { planGroup, type ChildState, type RestartPlan } from "./restart-plan.ts"

export function oneForAll(children: ReadonlyArray<ChildState>, failedId: string): RestartPlan {
  return planGroup(children, failedId)
}
