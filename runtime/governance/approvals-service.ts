/**
 * The approval queue over NATS, served by every node in one queue group (one node answers each
 * request): `ants._sys.approvals.<tenant>.list|show|decide|delegate` (subjects/governance.ts
 * has the shapes). A decision is recorded in the tenant's audit by the node that took it and
 * announced on `ants._sys.approvals.<tenant>.decided.<id>`; the turn waiting on it learns of it
 * through the request's KV entry, on whichever node it runs. Every node also sweeps the queue
 * (every 5 s by default) and applies the safe default to requests past their deadline whose
 * requester is not there to do it (its node died).
 *
 * A held turn (its request carries `resume`) is taken up by telling its actor `resume.tag`
 * once the decision is made (by a human or the deadline); the actor's reply, the turn's
 * answer, is kept in the request as `resumed`. A resume answered `unavailable` (not delivered:
 * no node serves the actor yet, as just after its node died) is sent again after 0.25, 0.5, 1,
 * 2, 4 and 4 s; one lost with its node is sent again by the sweep once the decision is a minute
 * old. The actor takes a held turn up once, so a resume sent twice runs nothing twice.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core"
import { encodeError, encodeOk } from "../../subjects/envelope.ts"
import { approvalDecidedSubject, APPROVALS_REQUESTS_WILDCARD, parseApprovalsSubject } from "../../subjects/governance.ts"
import type { Approvals, ApprovalRecord } from "./approvals.ts"
import { GovernanceError } from "./errors.ts"

const decoder = new TextDecoder()
const encoder = new TextEncoder()

export interface ApprovalsServiceOptions {
  readonly note: (tenant: string, kind: string, detail: unknown) => void
  readonly sweepEveryMs?: number
  readonly log?: (level: "info" | "warn" | "error", message: string) => void
  /** Offered each decision (the memory layer's feedback), when memory is on. */
  readonly onDecision?: (r: ApprovalRecord) => void
  /** Tells a held turn's actor to take it up (its `resume`); resolves with the actor's reply. */
  readonly resumeTurn?: (r: ApprovalRecord) => Promise<unknown>
  /** How old a decision is before the sweep sends a held turn's resume again (default 60 s). */
  readonly resumeGraceMs?: number
  /** Pauses before a resume answered `unavailable` is sent again (default: RESUME_RETRY_MS). */
  readonly resumeRetryMs?: ReadonlyArray<number>
}

/** A resume answered `unavailable` (not delivered) is sent again after each of these pauses. */
export const RESUME_RETRY_MS: ReadonlyArray<number> = [250, 500, 1_000, 2_000, 4_000, 4_000]

/** The envelope code an ask failed with (an AskError's), if any. */
const codeOf = (e: unknown): unknown => (e as { code?: unknown } | undefined)?.code

const CODES = { invalid: "invalid_message", not_found: "not_found", conflict: "conflict", forbidden: "forbidden", unavailable: "unavailable" } as const

function field(body: Record<string, unknown>, name: string): string {
  const v = body[name]
  if (typeof v !== "string" || v === "") throw new GovernanceError("invalid", `the request needs a string "${name}"`)
  return v
}

export function serveApprovals(nc: NatsConnection, approvals: Approvals, o: ApprovalsServiceOptions): { stop(): void } {
  const log = o.log ?? (() => {})
  const resuming = new Set<string>()
  let stopped = false
  /** Tells the actor to take its turn up, again after each pause while it is answered `unavailable` (nothing was delivered). */
  const sendResume = async (r: ApprovalRecord, send: (r: ApprovalRecord) => Promise<unknown>): Promise<unknown> => {
    for (const pause of [...(o.resumeRetryMs ?? RESUME_RETRY_MS), undefined]) {
      try {
        return await send(r)
      } catch (e) {
        if (pause === undefined || stopped || codeOf(e) !== "unavailable") throw e
        await new Promise((done) => setTimeout(done, pause))
      }
    }
  }
  const resume = (r: ApprovalRecord) => {
    const key = `${r.tenant}.${r.id}`
    if (!r.resume || !o.resumeTurn || resuming.has(key)) return
    resuming.add(key)
    void sendResume(r, o.resumeTurn)
      .then(
        (reply) => approvals.markResumed(r.tenant, r.id, { reply }),
        (e: unknown) => {
          const error = (e as Error)?.message ?? String(e)
          log("warn", `approvals: held turn of ${r.requester} (request ${r.id}) not taken up: ${error}`)
          // an actor that answered with an error took the turn up (and failed); one that did not answer is tried again by the sweep
          const code = codeOf(e)
          return code === "timeout" || code === "unavailable" ? undefined : approvals.markResumed(r.tenant, r.id, { error })
        },
      )
      .then((done) => {
        if (done) o.note(r.tenant, "approval", { id: r.id, event: "resumed", requester: r.requester, ...(done.resumed?.error ? { error: done.resumed.error } : {}) })
      })
      .catch((e: unknown) => log("warn", `approvals: request ${r.id}: ${(e as Error)?.message ?? e}`))
      .finally(() => resuming.delete(key))
  }
  const announce = (r: ApprovalRecord) => {
    nc.publish(approvalDecidedSubject(r.tenant, r.id), encoder.encode(JSON.stringify(r)))
    o.onDecision?.(r)
    resume(r)
  }
  const sub: Subscription = nc.subscribe(APPROVALS_REQUESTS_WILDCARD, {
    queue: "ants-approvals",
    callback: (_e, m) => {
      void (async () => {
        try {
          const target = parseApprovalsSubject(m.subject)
          if (!target) throw new GovernanceError("invalid", `not an approvals subject: ${m.subject}`)
          const { tenant, op } = target
          let body: Record<string, unknown> = {}
          if (m.data.length > 0) {
            try {
              body = JSON.parse(decoder.decode(m.data)) ?? {}
            } catch {
              throw new GovernanceError("invalid", "the request body is not JSON")
            }
          }
          if (op === "list") return m.respond(encodeOk(await approvals.list(tenant)))
          const id = field(body, "id")
          if (op === "show") {
            const r = await approvals.get(tenant, id)
            if (!r) throw new GovernanceError("not_found", `no approval request "${id}" in tenant "${tenant}"`)
            return m.respond(encodeOk(r))
          }
          const by = field(body, "by")
          if (op === "delegate") {
            const r = await approvals.delegate(tenant, id, field(body, "to"), by)
            o.note(tenant, "approval", { id, event: "delegated", to: r.delegatedTo, by })
            return m.respond(encodeOk(r))
          }
          const decision = body.decision
          if (decision !== "approve" && decision !== "reject") throw new GovernanceError("invalid", `"decision" must be "approve" or "reject"`)
          const r = await approvals.decide(tenant, id, { decision, by, reason: typeof body.reason === "string" ? body.reason : undefined, override: body.override === true, arguments: body.arguments })
          o.note(tenant, "approval", { id, event: r.overridden?.length ? "overridden" : "decided", status: r.status, by, reason: r.reason, tool: r.action.name, requester: r.requester })
          announce(r)
          m.respond(encodeOk(r))
        } catch (e) {
          const err = e as GovernanceError
          const code = err?._tag === "GovernanceError" ? CODES[err.code] : "unavailable"
          if (code === "unavailable") log("warn", `approvals: ${m.subject}: ${err?.message ?? e}`)
          m.respond(encodeError(code, err?.message ?? String(e)))
        }
      })()
    },
  })
  const sweeper = setInterval(() => {
    void approvals.sweep().then(
      (done) => {
        for (const r of done) {
          o.note(r.tenant, "approval", { id: r.id, event: "timed_out", applied: r.status, tool: r.action.name, requester: r.requester })
          announce(r)
        }
      },
      (e: unknown) => log("warn", `approvals: the deadline sweep failed: ${(e as Error)?.message ?? e}`),
    )
    if (o.resumeTurn) {
      void approvals.unresumed(o.resumeGraceMs ?? 60_000).then(
        (lost) => lost.forEach(resume),
        (e: unknown) => log("warn", `approvals: the resume sweep failed: ${(e as Error)?.message ?? e}`),
      )
    }
  }, o.sweepEveryMs ?? 5_000)
  sweeper.unref?.()
  return {
    stop() {
      stopped = true
      clearInterval(sweeper)
      sub.unsubscribe()
    },
  }
}
