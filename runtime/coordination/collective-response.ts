/**
 * Collective response (seed: a high-strength signal recruits a swarm sized by severity, which
 * coordinates a response and shares findings). A recruiter watches pheromones of the given
 * types (default `danger`) under a location; a trail whose strength reaches `minSeverity`
 * (default high, 0.7) raises an incident: the recruiter creates the incident artifact
 * `incidents.<location...>.<trail>` and asks k candidates (k by severity, `kForSeverity`) with
 * the tag `Respond` (RecruitRequest → RecruitReply), in parallel. A candidate that refuses,
 * fails or does not answer within `acceptTimeoutMs` is replaced by the next one, until k have
 * accepted or the candidates run out (`short` in the incident says by how many). The recruited
 * agents work on the incident through its artifact (`shareFinding`, `getIncident`).
 *
 * Promises:
 *   - One incident per trail, however many recruiters watch (the artifact's create-if-absent
 *     decides which recruiter forms it), and k recruits per incident, not k per recruiter.
 *   - A reinforcement that raises the severity past a band recruits the difference (by the
 *     recruiter that formed the incident).
 *   - The incident records when each recruit accepted and `recruitMs`: from the watch's
 *     delivery of the signal (detection) to the k-th acceptance (all recruited agents working);
 *     `signalMs` counts from the deposit instead.
 *   - Nothing an agent does stops the recruiter; its own failures go to `onError`.
 */
import type { PheromoneType } from "../../subjects/pheromones.ts"
import { COORDINATION_RECEIPTS, RecruitReply, incidentArtifactId, type RecruitRequest } from "../../subjects/coordination.ts"
import * as Schema from "effect/Schema"
import type { Pheromones, PheromoneWatch, Trail, Workspace } from "../stigmergy/mod.ts"
import { askerOf, type Asking } from "./consensus.ts"
import { updateArtifact } from "./artifact-update.ts"
import { asIncident, type Incident, type Recruit } from "./incident.ts"
import { CoordinationError, errorText, recordSafely, type RecordPort } from "./ports.ts"

/** From `min` strength up (inclusive), recruit `k`. */
export interface SeverityBand {
  readonly min: number
  readonly k: number
}

/** k by severity, on the seed's strength levels: critical 5, high 3, medium 2, low 1, trace none. */
export const DEFAULT_K_BY_SEVERITY: ReadonlyArray<SeverityBand> = [
  { min: 1, k: 5 },
  { min: 0.7, k: 3 },
  { min: 0.5, k: 2 },
  { min: 0.3, k: 1 },
]
export const DEFAULT_MIN_SEVERITY = 0.7
export const DEFAULT_ACCEPT_TIMEOUT_MS = 5000

/** The k of the highest band `severity` reaches; 0 below every band. */
export function kForSeverity(severity: number, bands: ReadonlyArray<SeverityBand> = DEFAULT_K_BY_SEVERITY): number {
  let best: SeverityBand | undefined
  for (const b of bands) if (severity >= b.min - 1e-9 && (best === undefined || b.min > best.min)) best = b
  return best?.k ?? 0
}

export type CollectiveResponseDeps = Asking & {
  readonly pheromones: Pheromones
  readonly workspace: Workspace
  readonly record?: RecordPort
  readonly now?: () => number
}

export interface CollectiveResponseSpec {
  /** The capable agents: one type and the ids that may be recruited, asked in turn. */
  readonly responders: { readonly agent: { readonly type: string } | string; readonly ids: ReadonlyArray<string> }
  /** Signal types that raise an incident (default `["danger"]`). */
  readonly types?: ReadonlyArray<PheromoneType>
  /** Location prefix watched (default: the whole tenant). */
  readonly location?: string
  /** Minimum strength of the signal (default 0.7, high). */
  readonly minSeverity?: number
  readonly kBySeverity?: ReadonlyArray<SeverityBand>
  /** The responders' protocol tag (default `Respond`). */
  readonly tag?: string
  readonly acceptTimeoutMs?: number
  /** Called when an incident has its k recruits (or ran out of candidates). */
  readonly onFormed?: (incident: Incident) => void
  readonly onError?: (err: unknown) => void
}

export interface CollectiveResponse {
  /** Incidents this recruiter formed, as last written. */
  formed(): ReadonlyArray<Incident>
  stop(): Promise<void>
}

const decodeReply = Schema.decodeUnknownEither(RecruitReply)

export async function startCollectiveResponse(deps: CollectiveResponseDeps, spec: CollectiveResponseSpec): Promise<CollectiveResponse> {
  const ids = spec.responders?.ids
  if (!Array.isArray(ids) || ids.length === 0) throw new CoordinationError("invalid_input", "responders.ids must list at least one agent id")
  const minSeverity = spec.minSeverity ?? DEFAULT_MIN_SEVERITY
  if (!(minSeverity > 0 && minSeverity <= 1)) throw new CoordinationError("invalid_input", `minSeverity must be in (0, 1], got ${JSON.stringify(spec.minSeverity)}`)
  const bands = spec.kBySeverity ?? DEFAULT_K_BY_SEVERITY
  if (bands.some((b) => !(b.min > 0 && b.min <= 1) || !Number.isInteger(b.k) || b.k < 0)) throw new CoordinationError("invalid_input", "each severity band needs min in (0, 1] and an integer k ≥ 0")
  const agent = typeof spec.responders.agent === "string" ? spec.responders.agent : spec.responders.agent.type
  const tag = spec.tag ?? "Respond"
  const acceptTimeoutMs = spec.acceptTimeoutMs ?? DEFAULT_ACCEPT_TIMEOUT_MS
  const now = deps.now ?? Date.now
  const ws = deps.workspace
  const tenant = ws.tenant
  const asker = askerOf(deps)
  const onError = spec.onError ?? ((e: unknown) => console.error("collective response:", e))
  const formed = new Map<string, Incident>()
  /** Per trail: its handling, so a burst of events on one trail is handled in order. */
  const chains = new Map<string, Promise<void>>()
  let turn = 0
  let stopped = false

  /** Asks candidates until `want` accepted or none is left; in turn across incidents. */
  const recruit = async (request: RecruitRequest, want: number, exclude: ReadonlySet<string>, detectedAt: number) => {
    const queue = ids.map((_, i) => ids[(turn + i) % ids.length]!).filter((id) => !exclude.has(id))
    turn = (turn + want) % ids.length
    const accepted: Recruit[] = []
    const declined: Array<{ id: string; why: string }> = []
    const one = async (): Promise<void> => {
      const id = queue.shift()
      if (id === undefined || stopped) return
      let why: string | undefined
      try {
        const reply = decodeReply(await asker.ask({ agent, id, tenant }, tag, request, { timeoutMs: acceptTimeoutMs }))
        if (reply._tag === "Left") why = "the reply is not a RecruitReply {accepted}"
        else if (!reply.right.accepted) why = `refused${reply.right.note ? `: ${reply.right.note}` : ""}`
      } catch (e) {
        why = errorText(e)
      }
      if (why === undefined) {
        accepted.push({ agent, id, acceptedAt: now() })
        await recordSafely(deps.record, tenant, COORDINATION_RECEIPTS.recruit, { incident: request.incident, agent, id, severity: request.severity, k: request.k, ms: now() - detectedAt })
        return
      }
      declined.push({ id, why })
      return one()
    }
    await Promise.all(Array.from({ length: want }, one))
    return { accepted, declined }
  }

  const handle = async (trail: Trail, detectedAt: number) => {
    const severity = trail.strength
    if (severity < minSeverity - 1e-9) return
    const k = kForSeverity(severity, bands)
    if (k === 0) return
    const id = incidentArtifactId(trail.location, trail.id)
    const request: RecruitRequest = { incident: id, severity, k, type: trail.type, location: trail.location, trail: trail.key, ...(trail.data === undefined ? {} : { data: trail.data }) }
    let current: Incident | undefined = formed.get(id)
    if (!current) {
      const data = { type: trail.type, location: trail.location, trail: trail.key, severity, k, depositedAt: trail.depositedAt, detectedAt, recruited: [], declined: [], findings: [], coordinator: ws.actor }
      try {
        current = asIncident(await ws.create({ id, kind: "incident", status: "responding", data }))
      } catch (e) {
        if ((e as { code?: string }).code === "conflict") return // another recruiter formed it
        throw e
      }
    } else if (k <= current.recruited.length || current.status !== "responding") {
      return // a reinforcement that does not call for more hands
    }
    const { accepted, declined } = await recruit(request, k - current.recruited.length, new Set(current.recruited.map((r) => r.id)), detectedAt)
    const formedAt = accepted.length > 0 ? Math.max(...accepted.map((a) => a.acceptedAt)) : undefined
    const a = await updateArtifact(ws, id, (d) => {
      const old = d as { recruited: Recruit[]; declined: Array<{ id: string; why: string }> }
      const recruited = [...old.recruited, ...accepted]
      const extra = current!.recruited.length > 0 ? { escalatedAt: detectedAt } : {}
      return {
        ...old,
        ...extra,
        severity,
        k,
        recruited,
        declined: [...old.declined, ...declined],
        short: Math.max(0, k - recruited.length),
        ...(formedAt === undefined ? {} : { formedAt, recruitMs: formedAt - detectedAt, signalMs: formedAt - trail.depositedAt }),
      }
    })
    const incident = asIncident(a)
    formed.set(id, incident)
    spec.onFormed?.(incident)
  }

  const deliver = (trail: Trail) => {
    const detectedAt = now()
    const prev = chains.get(trail.key) ?? Promise.resolve()
    const next = prev.then(() => handle(trail, detectedAt)).catch(onError)
    chains.set(trail.key, next)
    void next.then(() => {
      if (chains.get(trail.key) === next) chains.delete(trail.key)
    })
  }

  const watch: PheromoneWatch = await deps.pheromones.watch(
    { deposited: deliver, reinforced: deliver },
    { types: spec.types ?? ["danger"], ...(spec.location ? { location: spec.location } : {}), onError },
  )
  return {
    formed: () => [...formed.values()],
    async stop() {
      stopped = true
      await watch.stop()
      await Promise.allSettled([...chains.values()])
    },
  }
}
