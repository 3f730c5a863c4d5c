/**
 * The 2.11+ path: the server expires each trail at its own TTL (`Nats-TTL`) and leaves a
 * marker (`Nats-Marker-Reason: MaxAge`) that watchers read as `expired`, with no sweeper at all.
 * It needs nats-server 2.11 or newer: point NATS_SERVER_BIN at one to run it. On an older
 * server (this machine has 2.9.10) it skips and says why.
 */
import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { findNatsServer, natsServerVersion } from "../../runtime/server/nats-server.ts"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { versionAtLeast } from "../../runtime/server/server-features.ts"
import type { Evaporation } from "../../runtime/stigmergy/trail.ts"
import { PHEROMONE_BUCKET } from "../../subjects/pheromones.ts"
import { natsPerFile, natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const bin = findNatsServer()
const version = natsServerVersion(bin)
const newer = versionAtLeast(version, "2.11.0")
if (!newer) {
  console.log(
    `[skip] server-ttl: ${bin} is nats-server ${version}, which has no per-message TTL (2.11+); ` +
      "set NATS_SERVER_BIN to a nats-server 2.11 or newer binary to run the server-expiry tests",
  )
}

let srv: NatsServer
let nc: NatsConnection

describe.skipIf(!newer)("pheromones on nats-server 2.11+", () => {
  natsPerFile({}, (s, c) => ([srv, nc] = [s, c]))

  it("server ttl - the server expires a trail at its TTL and a non-sweeping watcher hears expired", async () => {
    const ph = createPheromones(nc, { tenant: "ttl" })
    const g = await ph.ready()
    expect(g.serverTtl).toBe(true)
    expect(g.summary).toMatch(/per-message TTL/)
    const heard: Evaporation[] = []
    const w = await ph.watch({ evaporated: (e) => void heard.push(e) }, { sweep: false })
    const t = await ph.deposit({ type: "load", location: "queue", ttlMs: 1000 })
    const kv = await new Kvm(nc).open(PHEROMONE_BUCKET)
    expect((await kv.get(t.key))?.operation).toBe("PUT")
    await waitUntil(() => heard.length > 0, { timeoutMs: 15_000, message: "the server's expiry marker reached the watcher" })
    expect(heard[0]).toMatchObject({ key: t.key, reason: "expired" })
    expect(await ph.detect()).toEqual([])
    await w.stop()
  })

  it("server ttl - a bucket created without per-message TTL stays on the sweeper path", async () => {
    const other = await natsFixture()
    const c = await rawConnect(other.url)
    try {
      // as an older server (or an older ANTS) would have created it
      await new Kvm(c).create(PHEROMONE_BUCKET, { history: 1, ttl: 61 * 60_000 })
      const g = await createPheromones(c, { tenant: "old" }).ready()
      expect(g.serverTtl).toBe(false)
      expect(g.summary).toMatch(/created without it .*fallback path/)
    } finally {
      await c.close()
      await other.stop()
    }
  })
})
