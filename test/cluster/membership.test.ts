/**
 * Membership against a real nats-server: "no responders" on a member's ping subject removes it
 * only when this node can judge (connected, not just reconnected, view not frozen) and the
 * member also missed a heartbeat (or the caller saw "no responders" from it already).
 * The member here is a "ghost": another connection keeps writing its entry, but nothing answers
 * its ping subject, so every probe of it gets "no responders".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { Membership, type MemberRecord } from "../../runtime/cluster/membership.ts"
import { MEMBERS_BUCKET } from "../../subjects/cluster.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
const enc = new TextEncoder()

beforeAll(async () => {
  server = await natsFixture()
})

afterAll(async () => {
  await server?.stop()
})

function ghostRecord(): MemberRecord {
  const at = new Date().toISOString()
  return { v: 1, node: "ghost", incarnation: "g", state: "up", types: ["where"], serving: [], startedAt: at, at, host: "nowhere", pid: 0 }
}

/** Keeps the ghost's entry fresh every `everyMs` until stopped. */
async function ghostWriter(nc: NatsConnection, everyMs: number) {
  const kv = await new Kvm(nc).open(MEMBERS_BUCKET)
  let stop = false
  const loop = (async () => {
    while (!stop) {
      await kv.put("ghost", enc.encode(JSON.stringify(ghostRecord()))).catch(() => undefined)
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })()
  return async () => {
    stop = true
    await loop
  }
}

describe("membership", () => {
  it("membership - no responders does not remove a member that keeps beating, nor while this node has just reconnected", async () => {
    const heartbeatMs = 100
    // the reconnect grace is expiryMs: long enough that a loaded runner still probes within it
    // after the waits below (600 ms was used up on a machine at load 15 before the forced probe,
    // and 3 s twice in a run of test/cluster at load 12)
    const expiryMs = 8_000
    const nc = await rawConnect(server.url)
    const other = await rawConnect(server.url)
    const logs: string[] = []
    const m = new Membership(nc, {
      nodeId: "judge",
      incarnation: "j",
      types: () => ["where"],
      heartbeatMs,
      expiryMs,
      log: (_l, msg) => logs.push(msg),
      onChange: () => {},
      onSelfExpired: () => {},
      onResumed: () => {},
    })
    let stopGhost: (() => Promise<void>) | undefined
    try {
      await m.start()
      stopGhost = await ghostWriter(other, 50)
      await waitUntil(() => m.isLive("ghost"), { message: "the ghost is seen" })
      // it beats: a plain probe with "no responders" is not enough
      await m.probe("ghost")
      expect(m.isLive("ghost")).toBe(true)
      // the server goes away and comes back (same port and store): the judge reconnects
      server = await server.restart()
      await waitUntil(async () => {
        await nc.flush()
        return m.frozen === false
      }, { timeoutMs: 15_000, message: "the judge's view thaws after the reconnect" })
      await waitUntil(() => m.isLive("ghost"), { timeoutMs: 5_000, message: "the ghost is seen again" })
      // just reconnected: even a forced probe (a second "no responders") must not remove it
      await m.probe("ghost", true)
      expect(m.isLive("ghost")).toBe(true)
      // once the reconnect grace has passed, a forced probe is trusted. On a loaded machine the
      // ghost's writer may stall past expiryMs and the ghost expire instead; it comes back with its
      // next beat, and the probe is tried again: only a removal by the probe ends the wait.
      const byProbe = () => logs.some((l) => /ghost is gone \(no responders/.test(l))
      await waitUntil(async () => {
        if (m.isLive("ghost")) await m.probe("ghost", true)
        return byProbe()
      }, { timeoutMs: 30_000, message: "a forced probe removes the ghost after the grace" })
    } finally {
      await stopGhost?.()
      m.stop()
      await nc.close()
      await other.close()
    }
  }, 60_000)
})
