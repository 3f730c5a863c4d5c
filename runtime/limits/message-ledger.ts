/**
 * Every message a node receives, accounted for, per agent type and tenant:
 *
 *     received = handled + forwarded + rejected (by reason) + inFlight
 *
 * at every moment. `received` counts a message when the node takes it from NATS; it then ends
 * exactly once as `handled` (its handler answered ok), `forwarded` (sent on to the node that
 * owns the actor, which accounts for it from then on) or `rejected` with the envelope code it
 * was answered with (or, for a tell, would have been); until then it is `inFlight` (queued or
 * running). A message the node lost without a trace would stay in flight for ever, which is
 * what the identity and the tests look for.
 *
 * The counters are plain numbers in rows looked up once per message (a Map get); `Ticket`s
 * make "exactly once" hold even when two paths race to settle the same message (a stop and a
 * late reply): the second settle is ignored.
 */

export interface LedgerCounts {
  received: number
  handled: number
  forwarded: number
  inFlight: number
  rejected: Record<string, number>
}

/** Where one message is counted (its type and tenant row). Settle it exactly once. */
export interface Ticket {
  readonly row: LedgerCounts
  settled: boolean
}

/** The row of messages whose type or tenant could not be read from the subject. */
export const UNPARSED = "_unparsed"

export class MessageLedger {
  private readonly rows = new Map<string, Map<string, LedgerCounts>>()

  row(type: string, tenant: string): LedgerCounts {
    let byTenant = this.rows.get(type)
    if (byTenant === undefined) {
      byTenant = new Map()
      this.rows.set(type, byTenant)
    }
    let r = byTenant.get(tenant)
    if (r === undefined) {
      r = { received: 0, handled: 0, forwarded: 0, inFlight: 0, rejected: {} }
      byTenant.set(tenant, r)
    }
    return r
  }

  /** Counts a message in; the ticket settles it. */
  receive(type: string, tenant: string): Ticket {
    const row = this.row(type, tenant)
    row.received++
    row.inFlight++
    return { row, settled: false }
  }

  handled(t: Ticket | undefined): void {
    if (t === undefined || t.settled) return
    t.settled = true
    t.row.inFlight--
    t.row.handled++
  }

  forwarded(t: Ticket | undefined): void {
    if (t === undefined || t.settled) return
    t.settled = true
    t.row.inFlight--
    t.row.forwarded++
  }

  rejected(t: Ticket | undefined, code: string): void {
    if (t === undefined || t.settled) return
    t.settled = true
    t.row.inFlight--
    t.row.rejected[code] = (t.row.rejected[code] ?? 0) + 1
  }

  /** `n` messages received and refused at once, elsewhere (a lane's reader thread): counted in and settled together. */
  receivedRejected(type: string, tenant: string, code: string, n: number): void {
    const row = this.row(type, tenant)
    row.received += n
    row.rejected[code] = (row.rejected[code] ?? 0) + n
  }

  /** A copy: `{ [type]: { [tenant]: counts } }`. */
  snapshot(): Record<string, Record<string, LedgerCounts>> {
    const out: Record<string, Record<string, LedgerCounts>> = {}
    for (const [type, byTenant] of this.rows) {
      const t: Record<string, LedgerCounts> = {}
      for (const [tenant, r] of byTenant) t[tenant] = { ...r, rejected: { ...r.rejected } }
      out[type] = t
    }
    return out
  }

  /** Totals over every row. */
  totals(): LedgerCounts {
    const sum: LedgerCounts = { received: 0, handled: 0, forwarded: 0, inFlight: 0, rejected: {} }
    for (const byTenant of this.rows.values()) {
      for (const r of byTenant.values()) {
        sum.received += r.received
        sum.handled += r.handled
        sum.forwarded += r.forwarded
        sum.inFlight += r.inFlight
        for (const [k, v] of Object.entries(r.rejected)) sum.rejected[k] = (sum.rejected[k] ?? 0) + v
      }
    }
    return sum
  }
}

/** Whether counts satisfy `received = handled + forwarded + Σ rejected + inFlight` (and nothing is negative). */
export function ledgerBalances(c: LedgerCounts): boolean {
  let rejected = 0
  for (const v of Object.values(c.rejected)) rejected += v
  return c.inFlight >= 0 && c.received === c.handled + c.forwarded + rejected + c.inFlight
}
