import { afterAll, describe, expect, it } from "vitest"
import { headers } from "@nats-io/transport-node"
import { natsFixture, rawConnect } from "../helpers/nats.ts"
import { startNatsCluster } from "../../runtime/nats-server.ts"

describe("nats-server launcher", () => {
  it("nats-server launcher - starts a server with the project's partition mapping", async () => {
    const srv = await natsFixture()
    try {
      const nc = await rawConnect(srv.url)
      const sub = nc.subscribe("ants._part.>", { max: 1 })
      nc.publish("ants.default.agent.counter.c1.Add", "{}")
      for await (const m of sub) {
        expect(m.subject).toMatch(/^ants\._part\.\d+\.default\.counter\.c1\.Add$/)
      }
      await nc.close()
    } finally {
      await srv.stop()
    }
  })

  it("nats-server launcher - a cluster of three shares JetStream", async () => {
    const cluster = await startNatsCluster(3)
    try {
      const nc = await rawConnect(cluster.servers[0].url)
      const { jetstreamManager } = await import("@nats-io/jetstream")
      // the meta leader needs a moment after the routes form
      const jsm = await (async () => {
        for (let i = 0; i < 100; i++) {
          try {
            const m = await jetstreamManager(nc)
            await m.streams.add({ name: "probe", subjects: ["probe.>"], num_replicas: 3 })
            return m
          } catch {
            await new Promise((r) => setTimeout(r, 200))
          }
        }
        throw new Error("JetStream cluster did not form")
      })()
      const info = await jsm.streams.info("probe")
      expect(info.cluster?.replicas?.length).toBe(2)
      void headers
      await nc.close()
    } finally {
      await cluster.stop()
    }
  })
})
