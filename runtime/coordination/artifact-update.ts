/**
 * A revision-checked read-modify-write of an artifact's data (and optionally its status),
 * retried when another writer got there first: how rounds, incidents and journals are changed
 * by several parties (late votes, responders sharing findings) without losing a write.
 */
import type { Artifact, Workspace } from "../stigmergy/mod.ts"
import { CoordinationError } from "./ports.ts"

const MAX_ATTEMPTS = 50

/**
 * Applies `change` to the current data and writes it back fenced by the revision read; on a
 * conflict reads again and retries. `to` moves the status too. `change` may throw to give up.
 */
export async function updateArtifact(ws: Workspace, id: string, change: (data: unknown, current: Artifact) => unknown, to?: string): Promise<Artifact> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await ws.get(id)
    if (!current) throw new CoordinationError("not_found", `artifact ${id} does not exist in tenant ${ws.tenant}`)
    const data = change(current.data, current)
    try {
      if (to !== undefined && to !== current.status) return await ws.transition(id, { to, revision: current.revision, data })
      return await ws.update(id, { data, revision: current.revision })
    } catch (e) {
      if ((e as { code?: string }).code !== "conflict") throw e
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)))
    }
  }
  throw new CoordinationError("busy", `artifact ${id} kept changing: gave up after ${MAX_ATTEMPTS} attempts`)
}
