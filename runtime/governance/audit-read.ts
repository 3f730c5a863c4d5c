/**
 * Reading a tenant's audit stream in order (an ordered consumer, removed afterwards), for
 * `ants audit tail` and `ants audit verify`; and the receipts decoded for people.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { AUDIT_KEYS_BUCKET, auditStreamName } from "../../subjects/governance.ts"
import { GovernanceError } from "./errors.ts"
import { openReceipt, readKeys, type ReceiptBody } from "./receipts.ts"
import { verifyChain, type StoredMessage, type VerifyReport } from "./audit-verify.ts"

/** What is stored in a tenant's stream, from sequence `from` on (default: the first kept). */
export async function readAuditStream(nc: NatsConnection, tenant: string, o: { last?: number } = {}): Promise<{ messages: StoredMessage[]; firstSeq: number; lastSeq: number }> {
  const name = auditStreamName(tenant)
  // no account-info call first: a tenant principal may read its own audit stream, not the account
  const jsm = await jetstreamManager(nc, { checkAPI: false })
  const info = await jsm.streams.info(name).catch((e: unknown) => {
    // a principal of another tenant is refused by the server: say so, not "no stream"
    if (/permissions violation/i.test(String((e as Error)?.message))) throw new GovernanceError("forbidden", `this connection may not read tenant "${tenant}"'s audit (the server refused: ${(e as Error).message})`, { cause: e })
    throw new GovernanceError("not_found", `tenant "${tenant}" has no audit stream (${name}) yet: nothing was recorded for it, or no node with governance has run`, { cause: e })
  })
  const { first_seq: firstSeq, last_seq: lastSeq, messages: count } = info.state
  if (count === 0) return { messages: [], firstSeq, lastSeq }
  const start = o.last !== undefined ? Math.max(firstSeq, lastSeq - o.last + 1) : firstSeq
  const consumer = await jetstream(nc).consumers.get(name, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start })
  const messages: StoredMessage[] = []
  try {
    let done = false
    while (!done) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 5_000 })
      let got = 0
      for await (const m of batch) {
        got++
        messages.push({ seq: m.seq, subject: m.subject, data: m.data })
        if (m.seq >= lastSeq || m.info.pending === 0) {
          done = true
          break // the batch would otherwise wait out its expiry for messages that will not come
        }
      }
      if (got === 0) break
    }
  } finally {
    await consumer.delete().catch(() => undefined)
  }
  return { messages, firstSeq, lastSeq }
}

/** Verifies a tenant's whole stream against the published keys. */
export async function verifyAudit(nc: NatsConnection, tenant: string): Promise<VerifyReport> {
  const { messages, firstSeq } = await readAuditStream(nc, tenant)
  const keys = await readKeys(await new Kvm(nc).open(AUDIT_KEYS_BUCKET))
  return verifyChain(messages, keys, { firstSeq })
}

export interface ReceiptView extends Omit<ReceiptBody, "v"> {
  readonly seq: number
  readonly subject: string
}

/** The receipts of a stored slice as people read them; a message that is not a receipt shows its error. */
export function viewReceipts(messages: ReadonlyArray<StoredMessage>): Array<ReceiptView | { seq: number; subject: string; error: string }> {
  return messages.map((m) => {
    try {
      const { v: _v, ...body } = openReceipt(m.data).body
      return { seq: m.seq, subject: m.subject, ...body }
    } catch (e) {
      return { seq: m.seq, subject: m.subject, error: (e as Error).message }
    }
  })
}
