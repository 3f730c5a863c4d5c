/**
 * `rest_for_one`: when a child must be restarted, the children started after it are stopped
 * (reverse start order), then it and they are restarted (start order); children started
 * before it are untouched. Use it when later children depend on earlier ones.
 */
import { planGroup, type ChildState, type RestartPlan } from "./restart-plan.ts"

export function restForOne(children: ReadonlyArray<ChildState>, failedId: string): RestartPlan {
  const i = children.findIndex((c) => c.id === failedId)
  return planGroup(i < 0 ? [] : children.slice(i), failedId)
}
