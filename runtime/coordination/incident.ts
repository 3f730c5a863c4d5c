/**
 * The incident artifact of a collective response (`incidents.<id>`, kind `incident`): the signal
 * that raised it, the agents recruited, and the findings they share. Responders read and append
 * through these helpers from their handlers (`ctx.workspace`); every append is revision-checked
 * and retried, so k responders writing at once lose no finding.
 */
import { INCIDENT_PREFIX } from "../../subjects/coordination.ts"
import type { Artifact, Workspace } from "../stigmergy/mod.ts"
import { updateArtifact } from "./artifact-update.ts"
import { CoordinationError } from "./ports.ts"

export interface Finding {
  /** Who found it (an actor id). */
  readonly by: string
  readonly finding: unknown
  readonly at?: number
}

export interface Recruit {
  readonly agent: string
  readonly id: string
  readonly acceptedAt: number
}

export interface Incident {
  /** The artifact id (`incidents.<id>`): what a responder gets as `incident`. */
  readonly incident: string
  readonly status: string
  readonly type: string
  readonly location: string
  /** The trail's key in `ants_pheromones`. */
  readonly trail: string
  readonly severity: number
  readonly k: number
  readonly depositedAt: number
  readonly detectedAt: number
  readonly recruited: ReadonlyArray<Recruit>
  /** Candidates asked that refused or failed, with why. */
  readonly declined: ReadonlyArray<{ readonly id: string; readonly why: string }>
  readonly findings: ReadonlyArray<Finding>
  /** When the k-th recruit accepted (all recruited agents working), and the time from detection to then. */
  readonly formedAt?: number
  readonly recruitMs?: number
  readonly resolution?: unknown
}

export function asIncident(a: Artifact): Incident {
  return { ...(a.data as Omit<Incident, "incident" | "status">), incident: a.id, status: a.status }
}

/** Accepts the artifact id (`incidents.<location...>.<trail>`) or the part after `incidents.`. */
function idOf(incident: string): string {
  return incident.startsWith(`${INCIDENT_PREFIX}.`) ? incident : `${INCIDENT_PREFIX}.${incident}`
}

export async function getIncident(ws: Workspace, incident: string): Promise<Incident | undefined> {
  const a = await ws.get(idOf(incident))
  return a ? asIncident(a) : undefined
}

/** Appends a finding to the incident (revision-checked, retried); returns the incident as it now is. */
export async function shareFinding(ws: Workspace, incident: string, finding: Finding): Promise<Incident> {
  const at = finding.at ?? Date.now()
  const a = await updateArtifact(ws, idOf(incident), (data) => {
    const d = data as { findings?: Finding[] }
    return { ...d, findings: [...(d.findings ?? []), { ...finding, at }] }
  })
  return asIncident(a)
}

/** Marks the incident resolved, with what was done. */
export async function resolveIncident(ws: Workspace, incident: string, resolution: unknown): Promise<Incident> {
  const a = await updateArtifact(
    ws,
    idOf(incident),
    (data, current) => {
      if (current.status === "resolved") throw new CoordinationError("duplicate", `incident ${current.id} is resolved already`)
      return { ...(data as object), resolution }
    },
    "resolved",
  )
  return asIncident(a)
}
