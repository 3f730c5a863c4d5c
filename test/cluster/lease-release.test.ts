/**
 * A released lease leaves its key empty (the stream message is removed, no delete marker), so
 * the next activation takes it with one create instead of a refused create, a read and an
 * update; and a release never removes a lease another node wrote since.
 */
import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { leasePair } from "./fixtures/lease-pair.ts"
import { LEASES_BUCKET, leaseKey } from "../../subjects/cluster.ts"
import { natsPerFile } from "../helpers/nats.ts"

let nc: NatsConnection
natsPerFile({}, (_s, c) => (nc = c))

describe("lease release", () => {
  it("leases - a release empties the key, so the next acquire is a single write", async () => {
    const { live, a: la, b: lb, stop } = await leasePair(nc, "la", "lb")
    try {
      const kv = await new Kvm(nc).open(LEASES_BUCKET)
      const actor = { tenant: "default", type: "release", id: "r1" }
      expect(await la.acquire(actor, () => {})).toBe(false)
      la.release(actor)
      await la.settled()
      expect(await kv.get(leaseKey(actor)), "no marker left behind").toBeNull()

      // count the writes and reads of the lease key the next acquire makes
      const seen: string[] = []
      const subs = [nc.subscribe(`$KV.${LEASES_BUCKET}.>`, { callback: (_e, m) => void seen.push(m.subject) }), nc.subscribe(`$JS.API.DIRECT.GET.KV_${LEASES_BUCKET}.>`, { callback: (_e, m) => void seen.push(m.subject) })]
      await nc.flush()
      expect(await lb.acquire({ ...actor }, () => {})).toBe(false)
      await nc.flush()
      for (const s of subs) s.unsubscribe()
      expect(seen).toEqual([`$KV.${LEASES_BUCKET}.${leaseKey(actor)}`])
      expect((await kv.get(leaseKey(actor)))?.json<{ node: string }>().node).toBe("lb")

      // a takeover, then the old holder's late release: the new holder's lease stays
      const other = { tenant: "default", type: "release", id: "r2" }
      await la.acquire(other, () => {})
      live.delete("la")
      expect(await lb.acquire({ ...other }, () => {})).toBe(true)
      const taken = await kv.get(leaseKey(other))
      la.release(other)
      await la.settled()
      expect(la.pendingRelease(other), "the release ended: nothing to remove").toBeUndefined()
      const after = await kv.get(leaseKey(other))
      expect(after?.revision).toBe(taken?.revision)
      expect(after?.json<{ node: string }>().node).toBe("lb")

      // a delete marker (how an older runtime released) is a free lease too
      const marked = { tenant: "default", type: "release", id: "r3" }
      await kv.put(leaseKey(marked), JSON.stringify({ node: "gone", incarnation: "0", at: new Date().toISOString() }))
      await kv.delete(leaseKey(marked))
      expect(await lb.acquire(marked, () => {})).toBe(false)
      expect((await kv.get(leaseKey(marked)))?.json<{ node: string }>().node).toBe("lb")
    } finally {
      stop()
    }
  }, 60_000)
})
