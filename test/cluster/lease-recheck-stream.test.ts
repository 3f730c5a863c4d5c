/**
 * The re-check of a node's leases after a silence reads what the lease stream took since the
 * silence began, not each lease: with many leases held, one read per lease kept the node
 * refusing every message for minutes (test/runtime/passivation-scale.test.ts). A takeover
 * released again before the re-check, or while it reads, must still be found.
 */
import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { jetstreamManager } from "@nats-io/jetstream"
import { leasePair } from "./fixtures/lease-pair.ts"
import { leasesChangedSince } from "../../runtime/cluster/lease-stream-recheck.ts"
import { bucketStream, LEASES_BUCKET } from "../../subjects/cluster.ts"
import { natsPerFile } from "../helpers/nats.ts"

let nc: NatsConnection
natsPerFile({}, (_s, c) => (nc = c))

const HELD = 2_000

describe("lease re-check from the stream", () => {
  it("leases - a re-check after a silence finds the lease taken over among 2,000 held without reading each lease", async () => {
    const lostOnA: string[] = []
    const { live, a: ra, b: rb, stop } = await leasePair(nc, "ra", "rb")
    try {
      const actor = (i: number) => ({ tenant: "default", type: "recheck", id: `a${i}` })
      for (let i = 0; i < HELD; i += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, k) => ra.acquire(actor(i + k), (_r, a) => lostOnA.push(a.id))))
      }
      // nothing written since the silence began: nothing lost
      await new Promise((r) => setTimeout(r, 250))
      const silence = Date.now()
      expect(await ra.verifyAll(silence)).toBe(0)
      // ra falls silent; rb takes one of its actors over
      live.delete("ra")
      await rb.acquire(actor(1234), () => {})
      expect(rb.takeovers).toBe(1)
      // count the per-lease reads (direct gets of the lease stream) the re-check makes
      let gets = 0
      const sub = nc.subscribe("$JS.API.STREAM.MSG.GET.>", { callback: () => void gets++ })
      await nc.flush()
      expect(await ra.verifyAll(silence)).toBe(1)
      await nc.flush()
      sub.unsubscribe()
      expect(lostOnA).toEqual(["a1234"])
      expect(ra.held.size).toBe(HELD - 1)
      expect(gets, "per-lease reads made by the re-check").toBe(0)
      // without a start, the whole stream is read: the same answer
      expect(await ra.verifyAll()).toBe(0)
    } finally {
      stop()
    }
  }, 120_000)

  it("leases - a lease taken over and released again before the silent holder re-checks is still found lost (the release leaves a marker, not a removed message)", async () => {
    const lostOnA: string[] = []
    const { live, a: sa, b: sb, stop } = await leasePair(nc, "sa", "sb")
    try {
      const actor = { tenant: "default", type: "recheck", id: "handed-back" }
      await sa.acquire(actor, (_r, a) => lostOnA.push(a.id))
      await new Promise((r) => setTimeout(r, 250))
      const silence = Date.now()
      // sa falls silent; sb takes its actor over, serves it, and hands it back (a rebalance when
      // sa rejoins) before sa has re-checked its leases
      live.delete("sa")
      const onB = { ...actor } // sb's own activation
      expect(await sb.acquire(onB, () => {})).toBe(true)
      sb.release(onB)
      await sb.settled()
      expect(sb.held.size).toBe(0)
      // sa's re-check must see that its lease was written by another node since the silence began
      expect(await sa.verifyAll(silence)).toBe(1)
      expect(lostOnA).toEqual(["handed-back"])
      expect(sa.held.size).toBe(0)
      // and the actor is free for whoever activates it next (taken at the marker's revision)
      live.add("sa")
      const again = { ...actor }
      expect(await sa.acquire(again, () => {})).toBe(false)
      sa.release(again)
      await sa.settled()
    } finally {
      stop()
    }
  }, 60_000)

  it("leases - a takeover released again while the re-check reads (its message replaced past the end the read began with) is still found", async () => {
    const { live, a: ta, b: tb, stop } = await leasePair(nc, "ta", "tb")
    try {
      const jsm = await jetstreamManager(nc)
      const actor = { tenant: "default", type: "recheck", id: "released-mid-read" }
      await ta.acquire(actor, () => {})
      const after = (await jsm.streams.info(bucketStream(LEASES_BUCKET))).state.last_seq
      // ta falls silent; tb takes its actor over, then activates another (the stream's end now)
      live.delete("ta")
      const onB = { ...actor }
      expect(await tb.acquire(onB, () => {})).toBe(true)
      const other = { tenant: "default", type: "recheck", id: "written-after" }
      await tb.acquire(other, () => {})
      const found = await leasesChangedSince(nc, jsm, after, (key, seq, rec) => (key.endsWith(actor.id) ? { seq, node: rec?.node ?? "deleted" } : undefined), async () => {
        // the read knows the stream's end; tb hands the actor back before the read reaches it:
        // the takeover's message is replaced by a delete marker past that end
        tb.release(onB)
        await tb.settled()
      })
      expect(found.map((f) => f.node)).toEqual(["deleted"])
      tb.release(other)
      await tb.settled()
    } finally {
      stop()
    }
  }, 60_000)
})
