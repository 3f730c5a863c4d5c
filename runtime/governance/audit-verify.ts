/**
 * Verifying a tenant's audit chain: walks the stored messages in stream order and names the
 * first position where the chain does not hold. Pure (no I/O): the messages and the published
 * public keys are given.
 *
 * At each position, in this order:
 *   - a gap in the stream's sequence after the previous receipt: `removed` (the first missing
 *     position is named);
 *   - bytes that are not a signed receipt, a key no node published, a signature that does not
 *     match the body: `forged`;
 *   - a receipt whose own position `n` is not where it is stored, or whose `prev` is not the
 *     hash of the receipt stored before it: `reordered`.
 * The first receipt kept may have predecessors the stream's retention removed (max age, max
 * messages): its `prev` cannot be checked, and the report says where the chain starts.
 */
import type { KeyObject } from "node:crypto"
import { openReceipt, receiptHash, signatureHolds, type OpenedReceipt } from "./receipts.ts"

export interface StoredMessage {
  readonly seq: number
  readonly subject: string
  readonly data: Uint8Array
}

export type TamperKind = "forged" | "removed" | "reordered"

export interface VerifyReport {
  readonly ok: boolean
  /** Receipts checked before the first bad one (all of them when ok). */
  readonly checked: number
  /** The stream position the chain starts at (1, or later when retention removed older ones). */
  readonly startsAt: number
  readonly lastSeq: number
  readonly firstBad?: { readonly position: number; readonly problem: TamperKind; readonly reason: string }
}

export function verifyChain(messages: ReadonlyArray<StoredMessage>, keys: ReadonlyMap<string, KeyObject>, o: { firstSeq?: number } = {}): VerifyReport {
  const startsAt = messages[0]?.seq ?? o.firstSeq ?? 1
  const lastSeq = messages.at(-1)?.seq ?? 0
  let prev: { seq: number; hash: string } | undefined
  let checked = 0
  const bad = (position: number, problem: TamperKind, reason: string): VerifyReport => ({ ok: false, checked, startsAt, lastSeq, firstBad: { position, problem, reason } })
  for (const m of messages) {
    if (prev && m.seq !== prev.seq + 1) {
      const missing = m.seq - prev.seq - 1
      return bad(prev.seq + 1, "removed", `${missing === 1 ? "the receipt" : `${missing} receipts`} at position ${prev.seq + 1}${missing > 1 ? `..${m.seq - 1}` : ""} ${missing === 1 ? "is" : "are"} missing from the stream`)
    }
    let r: OpenedReceipt
    try {
      r = openReceipt(m.data)
    } catch (e) {
      return bad(m.seq, "forged", `the message on ${m.subject} is not a receipt: ${(e as Error).message}`)
    }
    const key = keys.get(r.body.key)
    if (!key) return bad(m.seq, "forged", `signed by key ${r.body.key}, which no node published (bucket ants_audit_keys)`)
    if (!signatureHolds(r, key)) return bad(m.seq, "forged", `its signature does not match its body (written or changed by someone without node ${r.body.node}'s key ${r.body.key})`)
    if (r.body.n !== m.seq) return bad(m.seq, "reordered", `receipt ${r.body.n} (${r.body.kind}, ${r.body.at}) is stored at position ${m.seq}`)
    if (prev && r.body.prev !== prev.hash) return bad(m.seq, "reordered", `its prev hash is not the hash of the receipt at position ${prev.seq}: the chain was re-linked`)
    if (!prev && m.seq === 1 && r.body.prev !== "") return bad(m.seq, "reordered", "the first receipt of the stream names a predecessor")
    prev = { seq: m.seq, hash: receiptHash(m.data) }
    checked++
  }
  return { ok: true, checked, startsAt, lastSeq }
}
