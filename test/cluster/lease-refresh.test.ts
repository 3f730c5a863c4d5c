/**
 * Lease refreshes (runtime/cluster/leases.ts `refreshDue`, held-leases.ts `due`): each type's
 * held leases are kept oldest-refreshed first, so the refresher takes the due ones from the front
 * and stops at the first that is not, instead of passing over every lease a node holds every 5 s.
 * And on a real bucket whose max_age is the lease TTL: a held lease outlives it only by being
 * refreshed.
 */
import { afterEach, describe, expect, it, vi } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { HeldLeases, type LeaseHolder } from "../../runtime/cluster/held-leases.ts"
import { Leases } from "../../runtime/cluster/leases.ts"
import { sinceClockBase } from "../../runtime/limits/compact-fields.ts"
import { LEASES_BUCKET, leaseKey } from "../../subjects/cluster.ts"
import { natsPerFile } from "../helpers/nats.ts"

let nc: NatsConnection
natsPerFile({}, (_s, c) => (nc = c))

const T0 = Date.parse("2026-12-07T12:00:00Z")
const lost = () => undefined

describe("held leases, oldest refreshed first", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("finds the due leases from the front of each type and moves a refreshed one to the end", () => {
    vi.useFakeTimers({ toFake: ["Date"] })
    const held = new HeldLeases()
    const holder = (type: string, id: string): LeaseHolder => ({ tenant: "t", type, id })
    const [a, b, c, x] = [holder("one", "a"), holder("one", "b"), holder("one", "c"), holder("two", "x")]
    vi.setSystemTime(T0)
    held.add(a, 1, lost)
    vi.setSystemTime(T0 + 10)
    held.add(b, 2, lost)
    held.add(x, 3, lost)
    vi.setSystemTime(T0 + 20)
    held.add(c, 4, lost)
    expect(held.due(sinceClockBase(T0 + 15))).toEqual([a, b, x])
    vi.setSystemTime(T0 + 30)
    held.refreshed(a, 5)
    expect(a.leaseRevision).toBe(5)
    expect(held.due(sinceClockBase(T0 + 25))).toEqual([b, c, x])
    // taken again (a new revision): to the end as well
    vi.setSystemTime(T0 + 40)
    held.add(b, 6, lost)
    expect(held.due(sinceClockBase(T0 + 35))).toEqual([c, a, x])
    // a holder no longer held is not moved back in
    held.delete(c)
    held.refreshed(c, 7)
    expect(held.holds(c)).toBe(false)
    expect(held.size).toBe(3)
  })

  it("reads no lease past the first that is not due", () => {
    vi.useFakeTimers({ toFake: ["Date"] })
    vi.setSystemTime(T0)
    const held = new HeldLeases()
    const n = 10_000
    let reads = 0
    const holders = Array.from({ length: n }, (_, i) => {
      let refreshed = 0
      const h = {
        tenant: "t",
        type: "many",
        id: `a${i}`,
        get leaseRefreshedMs() {
          reads++
          return refreshed
        },
        set leaseRefreshedMs(v: number) {
          refreshed = v
        },
      }
      return h as LeaseHolder
    })
    holders.forEach((h, i) => {
      vi.setSystemTime(T0 + i)
      held.add(h, i + 1, lost)
    })
    reads = 0
    const due = held.due(sinceClockBase(T0 + 4))
    expect(due).toEqual(holders.slice(0, 5))
    // the five due and the one that stopped the pass
    expect(reads).toBe(6)
  })
})

describe("lease refresh on a real bucket", () => {
  it("keeps every held lease in a bucket whose max_age is the TTL, by refreshing the due ones", async () => {
    // TTL 1.5 s: refreshed when older than 500 ms, looked at every 250 ms
    const leases = new Leases(nc, { nodeId: "refresher", incarnation: "1", isLive: () => true, log: () => {}, leaseTtlMs: 1_500 })
    await leases.start()
    try {
      const actors = Array.from({ length: 300 }, (_, i): LeaseHolder => ({ tenant: "default", type: "kept", id: `k${i}` }))
      // resolves with whether it took the lease over from another node (none here)
      for (const a of actors) expect(await leases.acquire(a, lost)).toBe(false)
      const first = actors.map((a) => a.leaseRevision)
      // past two TTLs: without refreshes the bucket would have dropped every lease
      await new Promise((r) => setTimeout(r, 3_200))
      const kv = await new Kvm(nc).open(LEASES_BUCKET)
      for (const [i, a] of actors.entries()) {
        const e = await kv.get(leaseKey(a))
        expect(e?.operation, `lease of ${a.id}`).toBe("PUT")
        expect(e?.revision).toBe(a.leaseRevision)
        expect(a.leaseRevision).toBeGreaterThan(first[i]!)
      }
      expect(leases.held.size).toBe(300)
    } finally {
      leases.stop()
    }
  })
})
