/**
 * Rejection accounting: a message the node refuses is answered with an error envelope when it
 * has a reply subject; a refused tell or topic event has nobody to answer, so it is counted,
 * logged and published as a record on the node's `rejected` subject (the last 100 are kept for
 * the stats endpoint). Every refusal settles its message in the ledger with its code. Records
 * are bounded per second (RECORDS_PER_SECOND): under a flood every refusal is still counted,
 * but a node must not spend its time (and double its outbound traffic) describing each one;
 * the first record of the next second says how many were counted without a record.
 */
import type { Msg, NatsConnection } from "@nats-io/nats-core"
import { encodeError, type ErrorCode } from "../../subjects/envelope.ts"
import { agentSubject, nodeSubject, senderSubject, type AgentSubjectParts } from "../../subjects/grammar.ts"
import { RECORDS_PER_SECOND, type Logger, type NodeStats, type RejectedRecord } from "./options.ts"
import type { MessageLedger, Ticket } from "../limits/message-ledger.ts"
import { markActiveRefused } from "../observability/tracing.ts"

const encoder = new TextEncoder()

export interface Rejections {
  reject(msg: Msg, code: ErrorCode, message: string, details?: unknown, parsed?: AgentSubjectParts, ticket?: Ticket): void
  /** `n` messages to one type and tenant refused by a lane's reader thread (which answered the asks among them): counted in and refused at once, one record. */
  refusedElsewhere(type: string, tenant: string, code: ErrorCode, message: string, subject: string, n: number): void
  /** A topic event that could not become a message for an actor: counted and recorded like a bad tell. */
  rejectEvent(subject: string, code: ErrorCode, message: string): void
  snapshot(): Pick<NodeStats, "rejected" | "rejectedEvents" | "recentRejections">
}

export function createRejections(nc: NatsConnection, nodeId: string, log: Logger, ledger: MessageLedger): Rejections {
  let rejectedEvents = 0
  const rejected: Record<string, number> = {}
  const recent: RejectedRecord[] = []
  const rejectedSubject = nodeSubject(nodeId, "rejected")
  let recordSecond = 0
  let recordsThisSecond = 0
  let unrecorded = 0
  const recordBudget = (): boolean => {
    const second = Math.floor(Date.now() / 1000)
    if (second !== recordSecond) {
      recordSecond = second
      recordsThisSecond = 0
    }
    if (recordsThisSecond >= RECORDS_PER_SECOND) {
      unrecorded++
      return false
    }
    recordsThisSecond++
    return true
  }
  const record = (subject: string | (() => string), code: ErrorCode, message: string, details: unknown, what: string) => {
    if (!recordBudget()) return
    const suppressed = unrecorded
    unrecorded = 0
    if (suppressed > 0) log("warn", `${suppressed} more rejection(s) were counted (node stats) without a record of each`)
    const r: RejectedRecord = { subject: typeof subject === "string" ? subject : subject(), code, message, at: new Date().toISOString(), ...(suppressed > 0 ? { unrecordedBefore: suppressed } : {}) }
    recent.push(r)
    if (recent.length > 100) recent.shift()
    log("warn", `rejected ${what} on ${r.subject}: ${code}: ${message}`)
    try {
      nc.publish(rejectedSubject, encoder.encode(JSON.stringify({ ...r, details })))
    } catch {
      // closing
    }
  }
  return {
    reject(msg, code, message, details, parsed, ticket) {
      rejected[code] = (rejected[code] ?? 0) + 1
      ledger.rejected(ticket, code)
      markActiveRefused(code, message)
      if (msg.reply) {
        try {
          msg.respond(encodeError(code, message, details))
        } catch {
          // closing
        }
        return
      }
      // record the subject the sender used, not the partitioned one
      record(() => (parsed ? agentSubject(parsed) : senderSubject(msg.subject)), code, message, details, "tell")
    },
    refusedElsewhere(type, tenant, code, message, subject, n) {
      rejected[code] = (rejected[code] ?? 0) + n
      ledger.receivedRejected(type, tenant, code, n)
      record(() => senderSubject(subject), code, message, undefined, n === 1 ? "message" : `${n} messages`)
    },
    rejectEvent(subject, code, message) {
      rejected[code] = (rejected[code] ?? 0) + 1
      rejectedEvents++
      record(subject, code, message, undefined, "topic event")
    },
    snapshot: () => ({ rejected: { ...rejected }, rejectedEvents, recentRejections: [...recent] }),
  }
}
