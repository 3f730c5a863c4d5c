/**
 * Rejection accounting: a message the node refuses is answered with an error envelope when it
 * has a reply subject; a refused tell or topic event has nobody to answer, so it is counted,
 * logged and published as a record on the node's `rejected` subject (the last 100 are kept for
 * the stats endpoint).
 */
import type { Msg, NatsConnection } from "@nats-io/nats-core"
import { encodeError, type ErrorCode } from "../../subjects/envelope.ts"
import { agentSubject, nodeSubject, senderSubject, type AgentSubjectParts } from "../../subjects/grammar.ts"
import type { Logger, NodeStats, RejectedRecord } from "./options.ts"

const encoder = new TextEncoder()

export interface Rejections {
  reject(msg: Msg, code: ErrorCode, message: string, details?: unknown, parsed?: AgentSubjectParts): void
  /** A topic event that could not become a message for an actor: counted and recorded like a bad tell. */
  rejectEvent(subject: string, code: ErrorCode, message: string): void
  snapshot(): Pick<NodeStats, "rejected" | "rejectedEvents" | "recentRejections">
}

export function createRejections(nc: NatsConnection, nodeId: string, log: Logger): Rejections {
  let rejectedEvents = 0
  const rejected: Record<string, number> = {}
  const recent: RejectedRecord[] = []
  const rejectedSubject = nodeSubject(nodeId, "rejected")
  const record = (subject: string, code: ErrorCode, message: string, details: unknown, what: string) => {
    const r: RejectedRecord = { subject, code, message, at: new Date().toISOString() }
    recent.push(r)
    if (recent.length > 100) recent.shift()
    log("warn", `rejected ${what} on ${subject}: ${code}: ${message}`)
    try {
      nc.publish(rejectedSubject, encoder.encode(JSON.stringify({ ...r, details })))
    } catch {
      // closing
    }
  }
  return {
    reject(msg, code, message, details, parsed) {
      rejected[code] = (rejected[code] ?? 0) + 1
      if (msg.reply) {
        msg.respond(encodeError(code, message, details))
        return
      }
      // record the subject the sender used, not the partitioned one
      record(parsed ? agentSubject(parsed) : senderSubject(msg.subject), code, message, details, "tell")
    },
    rejectEvent(subject, code, message) {
      rejected[code] = (rejected[code] ?? 0) + 1
      rejectedEvents++
      record(subject, code, message, undefined, "topic event")
    },
    snapshot: () => ({ rejected: { ...rejected }, rejectedEvents, recentRejections: [...recent] }),
  }
}
