/**
 * Cut off (runtime/cluster/out-of-touch.ts): a node whose connections are all down at once may
 * be taken for dead at once by the others (gone-check.ts), so it refuses from that moment and,
 * once a connection is back (whichever comes first, a lane included), serves again only after a
 * heartbeat of its own has landed and its leases were re-checked. A connection lost while others
 * stay up does not cut it off. The logic alone: its inputs are the connections' status changes,
 * a heartbeat and the lease re-check, given here as plain functions; the three connections are
 * real ones to a real nats-server, whose status changes the test reports itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { createOutOfTouch } from "../../runtime/cluster/out-of-touch.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"

let server: NatsServer
let conns: NatsConnection[] = []

beforeAll(async () => {
  server = await natsFixture()
  conns = [await rawConnect(server.url), await rawConnect(server.url), await rawConnect(server.url)]
})

afterAll(async () => {
  for (const c of conns) await c.close()
  await server?.stop()
})

function harness() {
  const [main, control, lane] = conns
  const all = [main, control, lane]
  let beat: (landed: boolean) => void = () => {}
  const beats: string[] = []
  const verified: number[] = []
  const o = createOutOfTouch({
    me: "n1",
    main,
    leases: { verifyAll: async () => (verified.push(Date.now()), 0) },
    membership: () => ({
      silentFor: () => 0,
      expiryMs: 1500,
      heartbeatMs: 300,
      beatNow: () => {
        beats.push("asked")
        return new Promise<boolean>((r) => (beat = r))
      },
    }),
    leaving: () => false,
    log: () => {},
  })
  const settle = () => new Promise((r) => setTimeout(r, 10))
  return { o, main, control, lane, all, beats, verified, landBeat: async (landed = true) => (beat(landed), await settle()), settle }
}

describe("cut off", () => {
  it("cut-off - every connection down: refused until a connection is back, a heartbeat landed and the leases were re-checked", async () => {
    const h = harness()
    expect(h.o.outOfTouch()).toBe(false)
    h.o.connection(h.main, false, h.all)
    h.o.connection(h.control, false, h.all)
    expect(h.o.outOfTouch()).toBe(false) // the lane is still up: nobody can confirm this node gone
    h.o.connection(h.lane, false, h.all)
    expect(h.o.outOfTouch()).toBe(true)
    // the lane comes back first: messages may arrive on it, and are refused
    h.o.connection(h.lane, true, h.all)
    await h.settle()
    expect(h.o.outOfTouch()).toBe(true)
    expect(h.beats).toEqual(["asked"])
    expect(h.verified).toEqual([])
    // a heartbeat that did not land is tried again; the node keeps refusing
    await h.landBeat(false)
    await new Promise((r) => setTimeout(r, 80))
    expect(h.beats.length).toBe(2)
    expect(h.o.outOfTouch()).toBe(true)
    await h.landBeat(true)
    expect(h.verified.length).toBe(1)
    expect(h.o.outOfTouch()).toBe(false)
  })

  it("cut-off - one connection lost and back while the others stay up: no heartbeat first; the main one's return re-checks the leases as before", async () => {
    const h = harness()
    h.o.connection(h.lane, false, h.all)
    expect(h.o.outOfTouch()).toBe(false)
    h.o.connection(h.lane, true, h.all)
    await h.settle()
    expect(h.beats).toEqual([])
    expect(h.verified).toEqual([])
    h.o.connection(h.main, false, h.all)
    expect(h.o.outOfTouch()).toBe(false)
    h.o.connection(h.main, true, h.all)
    await h.settle()
    expect(h.beats).toEqual([])
    expect(h.verified.length).toBe(1)
    expect(h.o.outOfTouch()).toBe(false)
  })
})
