/** Test helper: child states from a compact description, e.g. `kids("a b:transient c:temporary")`. */
import type { ChildState, ChildStatus, RestartType } from "../../supervisors/mod.ts"

export function kids(description: string, statuses: Record<string, ChildStatus> = {}): ChildState[] {
  return description
    .split(/\s+/)
    .filter(Boolean)
    .map((d) => {
      const [id, restart = "permanent"] = d.split(":")
      return { id, kind: "worker", restart: restart as RestartType, status: statuses[id] ?? "running" }
    })
}
