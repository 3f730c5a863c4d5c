import { describe, expect, it } from "vitest"
import { ledgerBalances, MessageLedger } from "../../runtime/limits/message-ledger.ts"

describe("message ledger", () => {
  it("message ledger - each message settles once, and the identity holds at every step", () => {
    const l = new MessageLedger()
    const a = l.receive("counter", "acme")
    const b = l.receive("counter", "acme")
    const c = l.receive("counter", "beta")
    expect(ledgerBalances(l.totals())).toBe(true)
    expect(l.totals().inFlight).toBe(3)
    l.handled(a)
    l.handled(a) // a second settle is ignored
    l.rejected(b, "overloaded")
    l.forwarded(c)
    l.rejected(c, "unavailable")
    const s = l.snapshot()
    expect(s.counter.acme).toEqual({ received: 2, handled: 1, forwarded: 0, inFlight: 0, rejected: { overloaded: 1 } })
    expect(s.counter.beta).toEqual({ received: 1, handled: 0, forwarded: 1, inFlight: 0, rejected: {} })
    expect(ledgerBalances(s.counter.acme) && ledgerBalances(s.counter.beta)).toBe(true)
  })
})
