/**
 * The node's hot path: every message for an actor, from NATS (or forwarded by another node) to
 * a mailbox, with everything checked before any work is done on it: the subject, the owner
 * (forwarded once, or refused while the node is out of touch), the type and its availability,
 * the tenant's and the actor's rates, the body's size, JSON depth, key count and prototype
 * keys, and the tag's schema (decoding stops early on large bodies). Each message is counted
 * in the ledger as it arrives and settled exactly once: here when it is refused or forwarded,
 * by its host when its handler answers. A failure of this code itself is answered
 * `unavailable`, never a crash.
 */
import type { Msg } from "@nats-io/nats-core"
import type { Span } from "@opentelemetry/api"
import { isMappingProbe, SubjectError } from "../../subjects/grammar.ts"
import { encodeError, type ErrorCode } from "../../subjects/envelope.ts"
import { parseInboundOnce, type Inbound } from "../../subjects/inbound.ts"
import { POOL_ID } from "../../subjects/elastic.ts"
import { decodeWakeRequest } from "../../subjects/wake.ts"
import type { TypeHost } from "../actor/type-host.ts"
import { isLimitError } from "../limits/limit-error.ts"
import { UNPARSED, type Ticket } from "../limits/message-ledger.ts"
import { parseJsonSafe } from "../limits/safe-json.ts"
import { replyOf } from "../client/msg-reply.ts"
import { ATTR } from "../observability/attributes.ts"
import { enterSyncSpan, leaveSyncSpan, startDispatchSpan, tracingActive } from "../observability/tracing.ts"
import type { NodeGuards } from "./guards.ts"
import type { Logger } from "./options.ts"
import type { Rejections } from "./rejections.ts"
import { prepaid } from "./lane-msg.ts"
import type { LaneAdmission } from "./lane-thread.ts"

const decoder = new TextDecoder()
/** How long a lane's reader refuses an actor's messages, at least, once the node has no token left for it (then it asks again). */
const REFUSE_MIN_MS = 10

export interface DispatchDeps {
  readonly id: string
  readonly hosts: ReadonlyMap<string, TypeHost>
  readonly cluster: { forward(msg: Msg, p: Inbound, now: number): false | "forwarded" | { readonly refused: string } }
  readonly guards: Omit<NodeGuards, "monitor">
  readonly reject: Rejections["reject"]
  readonly refusedElsewhere: Rejections["refusedElsewhere"]
  readonly log: Logger
  /** False once the node drains. */
  accepting(): boolean
  /** The tenant's kill switch and quotas (runtime/node/tenancy.ts): a refusal, or undefined to go on. */
  admit(tenant: string, activates: boolean, now: number): { readonly code: ErrorCode; readonly message: string } | undefined
  /** A message to a pool address (id `_pool`): handed to a member by runtime/elastic; a refusal, or undefined when taken. */
  pool(msg: Msg, p: Inbound): { readonly code: ErrorCode; readonly message: string } | undefined
}

export function createDispatch(d: DispatchDeps): { dispatch: (msg: Msg, routed?: Inbound) => void; received: () => number; laneAdmission: LaneAdmission } {
  const { id, hosts, cluster, reject, log } = d
  const { ledger, limits, jsonLimits, tenantRates, agentRates, budget } = d.guards
  let received = 0
  const tenantOver = (tenant: string) => `tenant "${tenant}" is over its rate of ${tenantRates.limitOf(tenant)?.ratePerSec} messages/s on node ${id}; retry later`
  const agentOver = (type: string, actor: string) => `${type}/${actor} is over its rate of ${agentRates.limitOf("")?.ratePerSec} messages/s on node ${id}; retry later`
  const wakeBody = (data: Uint8Array) => {
    if (data.length > limits.maxBodyBytes) return { problem: `body of ${data.length} bytes exceeds ${limits.maxBodyBytes}` }
    try {
      return decodeWakeRequest(parseJsonSafe(decoder.decode(data), jsonLimits))
    } catch (e) {
      return { problem: `body is not JSON: ${(e as Error).message}` }
    }
  }
  // with tracing on, each message is taken inside its dispatch span (a forwarding hop carries it on)
  const dispatch = (msg: Msg, routed?: Inbound): void => {
    if (!tracingActive()) return take(msg, routed, undefined)
    // the subject first (memoised), so the span starts with its final name and attributes
    const parsed = routed ?? parseInboundOnce(msg.subject)
    const span = startDispatchSpan(msg, id, parsed instanceof SubjectError ? undefined : parsed)
    if (span === undefined) return take(msg, parsed, undefined)
    const outer = enterSyncSpan(span)
    try {
      take(msg, parsed, span)
    } finally {
      leaveSyncSpan(outer)
      span.end()
    }
  }
  const take = (msg: Msg, routed: Inbound | SubjectError | undefined, span: Span | undefined): void => {
    received++
    let ticket: Ticket | undefined
    try {
      const p = routed ?? parseInboundOnce(msg.subject)
      if (p instanceof SubjectError) {
        // the runtime's own mapping probes (another node starting) are the one thing not answered
        if (!msg.reply && isMappingProbe(msg.subject)) {
          received--
          return
        }
        return reject(msg, "invalid_subject", p.message, undefined, undefined, ledger.receive(UNPARSED, UNPARSED))
      }
      ticket = ledger.receive(p.type, p.tenant)
      // one clock reading for every check below (a reading costs as much as a map lookup)
      const now = Date.now()
      // not this node's actor (rebalance, or a queue group split): the owner gets it, once
      const routedAway = cluster.forward(msg, p, now)
      if (routedAway !== false) {
        if (routedAway === "forwarded") {
          span?.setAttribute(ATTR.forwarded, true)
          return ledger.forwarded(ticket)
        }
        return reject(msg, "unavailable", routedAway.refused, undefined, p, ticket)
      }
      const host = hosts.get(p.type)
      if (host === undefined) {
        return reject(msg, "unknown_type", `no agent type "${p.type}" on this swarm's node ${id} (hosted: ${[...hosts.keys()].join(", ") || "none"})`, undefined, p, ticket)
      }
      if (host.unavailable !== undefined) return reject(msg, "unavailable", `agent type "${p.type}" is unavailable on node ${id}: ${host.unavailable}`, undefined, p, ticket)
      if (!d.accepting()) return reject(msg, "unavailable", `node ${id} is draining; retry`, undefined, p, ticket)
      const refused = d.admit(p.tenant, p.id !== POOL_ID && !host.cells.has(p.key), now)
      if (refused !== undefined) return reject(msg, refused.code, refused.message, undefined, p, ticket)
      // rates before any work: a flooding tenant or actor is refused at the cost of a subject parse
      // (a lane's reader thread took the tokens of what it passes on prepaid)
      if (!prepaid(msg)) {
        if (!tenantRates.take(p.tenant, now)) return reject(msg, "overloaded", tenantOver(p.tenant), undefined, p, ticket)
        if (!agentRates.take(p.typeKey, now)) return reject(msg, "overloaded", agentOver(p.type, p.id), undefined, p, ticket)
      }
      // a pool address: a member gets it as it is (and validates it), its reply is relayed
      if (p.id === POOL_ID) {
        const refusal = d.pool(msg, p)
        return refusal ? reject(msg, refusal.code, refusal.message, undefined, p, ticket) : ledger.forwarded(ticket)
      }
      let message: unknown
      const data = msg.data
      if (p.tag.charCodeAt(0) === 95 /* _ */) {
        if (p.tag !== "_Wake" && p.tag !== "_Inspect") return reject(msg, "unknown_tag", `"${p.tag}" is not a runtime tag (known: _Wake, _Inspect)`, undefined, p, ticket)
        // a wake may say why and for how long (subjects/wake.ts); a body that does not fit is refused here
        const wake = p.tag === "_Wake" && data.length > 0 ? wakeBody(data) : undefined
        if (wake !== undefined && "problem" in wake) return reject(msg, "invalid_message", `_Wake: ${wake.problem}`, undefined, p, ticket)
        message = wake
      } else {
        const compiled = host.compiled.get(p.tag)
        if (compiled === undefined) {
          return reject(msg, "unknown_tag", `agent type "${p.type}" has no tag "${p.tag}" (known: ${[...host.compiled.keys()].join(", ")})`, undefined, p, ticket)
        }
        if (data.length > limits.maxBodyBytes) return reject(msg, "too_large", `body of ${data.length} bytes exceeds ${limits.maxBodyBytes}`, undefined, p, ticket)
        let json: unknown
        if (data.length === 0) json = {}
        else {
          try {
            // depth, key count and prototype keys are checked before JSON.parse builds anything
            json = parseJsonSafe(decoder.decode(data), jsonLimits)
          } catch (e) {
            const limit = isLimitError(e) ? e : undefined
            return reject(msg, "invalid_message", limit ? `body refused: ${limit.message}` : `body is not JSON: ${(e as Error).message}`, limit?.path ? [{ path: limit.path, message: limit.message }] : undefined, p, ticket)
          }
        }
        const r = compiled.decodeBounded(json, data.length)
        if (r._tag === "Left") {
          const more = r.left.more === undefined ? "; decoding stopped at the first issue" : r.left.more > 0 ? `; ${r.left.more} more issue(s) not listed` : ""
          return reject(msg, "invalid_message", `message does not fit ${p.type}.${p.tag}${more}`, r.left.issues, p, ticket)
        }
        message = r.right
      }
      const cell = host.cell(p.tenant, p.id, p.key)
      const reply = replyOf(msg)
      if (!cell.enqueue({ tag: p.tag, message, msg, reply, ticket, bytes: data.length, at: reply ? performance.now() : undefined, trace: span })) {
        const why = cell.queued >= host.mailboxCapacity ? `${host.mailboxCapacity} messages` : `${cell.queuedBytes} bytes queued, limit ${host.mailboxBytes} per actor and ${budget.max} per node`
        return reject(msg, "overloaded", `mailbox of ${p.type}/${p.id} is full (${why}); retry later`, undefined, p, ticket)
      }
    } catch (e) {
      // Never let a message take the node down.
      log("error", `dispatch of ${msg.subject} failed: ${(e as Error).stack ?? e}`)
      try {
        reject(msg, "unavailable", `node ${id} could not dispatch the message: ${(e as Error).message}`, undefined, undefined, ticket ?? ledger.receive(UNPARSED, UNPARSED))
      } catch {
        // ignore
      }
    }
  }

  // a lane's reader thread asks for an actor's tokens in chunks, and refuses what is over
  const refusal = (refillMs: number, reason: string) => ({ n: 0, retryMs: Math.max(REFUSE_MIN_MS, refillMs), reason, answer: encodeError("overloaded", reason) })
  const laneAdmission: LaneAdmission = {
    grant(key, tenant) {
      const now = Date.now()
      const t = tenantRates.takeUpTo(tenant, Number.POSITIVE_INFINITY, now)
      if (t === 0) return refusal(tenantRates.refillMs(tenant), tenantOver(tenant))
      const a = agentRates.takeUpTo(key, t, now)
      if (a < t && t !== Number.POSITIVE_INFINITY) tenantRates.giveBack(tenant, t - a)
      if (a > 0) return { n: a, retryMs: 0, reason: "" }
      const [type = "", , actor = ""] = key.split("\u0000")
      return refusal(agentRates.refillMs(key), agentOver(type, actor))
    },
    refused(rows) {
      for (const [type, tenant, n, reason, subject] of rows) {
        received += n
        d.refusedElsewhere(type, tenant, "overloaded", reason, subject, n)
      }
    },
  }
  return { dispatch, received: () => received, laneAdmission }
}
