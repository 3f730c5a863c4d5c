import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { natsPerFile, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"

let srv: NatsServer
let nc: NatsConnection

natsPerFile({}, (s, c) => ([srv, nc] = [s, c]))

describe("pheromone watch resilience", () => {
  it("pheromone watch - keeps delivering after the server restarts", async () => {
    const ph = createPheromones(nc, { tenant: "resilience" })
    const heard: string[] = []
    const w = await ph.watch({ deposited: (t) => void heard.push(t.id) })
    await ph.deposit({ type: "task", location: "ops", id: "before" })
    await waitUntil(() => heard.includes("before"))
    srv = await srv.restart()
    // The watch's consumer lived in the old server's memory; the feed notices the silence
    // (FEED_STALL_MS) and recreates it after the last message it saw.
    await waitUntil(
      async () => {
        await ph.deposit({ type: "task", location: "ops", id: "after" }).catch(() => undefined)
        return heard.includes("after")
      },
      { timeoutMs: 45_000, intervalMs: 500, message: "a deposit after the restart is heard" },
    )
    expect(heard[0]).toBe("before")
    await w.stop()
  })
})
