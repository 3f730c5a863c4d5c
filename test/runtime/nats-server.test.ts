import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { connect as tcpConnect } from "node:net"
import { createInterface } from "node:readline"
import { describe, expect, it } from "vitest"
import { headers } from "@nats-io/transport-node"
import { natsFixture, rawConnect } from "../helpers/nats.ts"
import { startNatsCluster } from "../../runtime/server/nats-server.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { isProcessAlive as alive } from "../../runtime/cli/embedded-url.ts"

const LAUNCHER = new URL("../../runtime/server/nats-server.ts", import.meta.url).pathname

/** Whether nothing listens on the port any more (a refused connection, not a timeout). */
const refuses = (port: number) =>
  new Promise<boolean>((r) => {
    const sock = tcpConnect(port, "127.0.0.1")
    sock.once("connect", () => (sock.destroy(), r(false)))
    sock.once("error", (e: NodeJS.ErrnoException) => r(e.code === "ECONNREFUSED"))
  })

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

  it("nats-server launcher - stop ends the server and removes its temporary store", async () => {
    const srv = await natsFixture()
    expect(alive(srv.pid)).toBe(true)
    expect(existsSync(srv.storeDir)).toBe(true)
    await srv.stop()
    expect(alive(srv.pid)).toBe(false)
    expect(existsSync(srv.storeDir)).toBe(false)
    expect(await refuses(srv.port)).toBe(true)
  })

  it("nats-server launcher - kill keeps the store, and restart serves it again on the same port", async () => {
    const srv = await natsFixture()
    let again
    try {
      const nc = await rawConnect(srv.url)
      const { jetstreamManager } = await import("@nats-io/jetstream")
      await (await jetstreamManager(nc)).streams.add({ name: "kept", subjects: ["kept.>"] })
      await nc.close()
      await srv.kill()
      expect(alive(srv.pid)).toBe(false)
      expect(existsSync(srv.storeDir)).toBe(true)
      again = await srv.restart()
      expect(again.port).toBe(srv.port)
      const nc2 = await rawConnect(again.url)
      expect((await (await jetstreamManager(nc2)).streams.info("kept")).config.name).toBe("kept")
      await nc2.close()
    } finally {
      await (again ?? srv).stop()
    }
  })

  it("nats-server launcher - a launcher killed with SIGKILL takes its server and temporary store along", async () => {
    const script =
      "const { startNatsServer } = await import(process.argv[1]);" +
      "const s = await startNatsServer();" +
      "console.log(JSON.stringify({ port: s.port, pid: s.pid, store: s.storeDir }));" +
      "setInterval(() => {}, 1000)"
    const proc = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, LAUNCHER], { stdio: ["ignore", "pipe", "inherit"] })
    const started = await new Promise<{ port: number; pid: number; store: string }>((res, rej) => {
      createInterface({ input: proc.stdout! }).once("line", (l) => res(JSON.parse(l)))
      proc.once("exit", (code) => rej(new Error(`launcher exited early with ${code}`)))
    })
    expect(alive(started.pid)).toBe(true)
    expect(existsSync(started.store)).toBe(true)
    proc.kill("SIGKILL")
    await waitUntil(() => refuses(started.port), { message: `nats-server on port ${started.port} to refuse connections` })
    await waitUntil(() => !existsSync(started.store), { message: `store ${started.store} to be removed` })
    await waitUntil(() => !alive(started.pid), { message: `nats-server ${started.pid} to be gone` })
  }, 30_000)

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
