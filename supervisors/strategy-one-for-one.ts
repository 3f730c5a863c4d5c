/**
 * `one_for_one`: only the child that failed is restarted; its siblings are untouched.
 * Use it when children are independent of one another.
 */
import { planGroup, type ChildState, type RestartPlan } from "./restart-plan.ts"

export function oneForOne(children: ReadonlyArray<ChildState>, failedId: string): RestartPlan {
  return planGroup(
    children.filter((c) => c.id === failedId),
    failedId,
  )
}
