/**
 * The lease re-check after a silence (Leases.verifyAll) when the leases cannot be read: the
 * server is gone while the node checks. Its own server (killed and restarted), so the other
 * cluster files keep theirs.
 */
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Leases, isLeaseHeldError } from "../../runtime/cluster/leases.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let nc: NatsConnection

beforeAll(async () => {
  server = await natsFixture()
  nc = await rawConnect(server.url)
})

afterAll(async () => {
  await nc?.close()
  await server?.stop()
})

/** The outcome of `f` once the restarted server's JetStream answers it (a refusal is an answer). */
async function untilStored<T>(f: () => Promise<T>, timeoutMs = 20_000): Promise<T | unknown> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await f()
    } catch (e) {
      if (isLeaseHeldError(e) || Date.now() > deadline) return e
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** The state letter of a process (`R`, `S`, `T` for stopped...), from /proc. */
function processState(pid: number): string | undefined {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1]
  } catch {
    return undefined
  }
}

type Actor = { readonly tenant: string; readonly type: string; readonly id: string }

/** Two nodes' leases (`<prefix>a`, `<prefix>b`), both live throughout (a lease naming either one is respected by the other). */
async function withTwoNodes(prefix: string, id: string, f: (la: Leases, lb: Leases, actor: Actor) => Promise<void>): Promise<void> {
  const make = (n: string) => new Leases(nc, { nodeId: `${prefix}${n}`, incarnation: "1", isLive: () => true, log: () => {} })
  const [la, lb] = [make("a"), make("b")]
  await Promise.all([la.start(), lb.start()])
  try {
    await f(la, lb, { tenant: "default", type: "where", id })
  } finally {
    la.stop()
    lb.stop()
  }
}

/** `lb` takes the actor (not refused as held by a node that does not run it), and gives it back. */
async function takenBy(lb: Leases, actorOnA: Actor): Promise<void> {
  const actor = { ...actorOnA } // lb's own activation (a lease is kept on its holder)
  const taken = await untilStored(() => lb.acquire(actor, () => {}))
  expect(isLeaseHeldError(taken) ? `refused: held by ${taken.holder}` : "taken").toBe("taken")
  expect(lb.held.size).toBe(1)
  lb.release(actor)
  await lb.settled()
}

describe("lease re-check", () => {
  it("leases - a lease that cannot be verified stops its activation and is released once the store is back, so the actor's owner can take it (no lease left naming a live node that runs nothing)", async () => {
    await withTwoNodes("u", "unverified", async (la, lb, actor) => {
      const lost: string[] = []
      await la.acquire(actor, (r) => lost.push(r))
      const refused = await lb.acquire({ ...actor }, () => {}).catch((e) => e)
      expect(isLeaseHeldError(refused) && refused.holder).toBe("ua")

      // the store is unreachable while la re-checks: every read fails, the activation is stopped
      await server.kill()
      expect(await la.verifyAll()).toBe(1)
      expect(lost).toEqual([`lease of default.where.unverified could not be verified after this node was out of touch`])
      expect(la.held.size).toBe(0)

      // back: la's release lands, and the other node gets the actor instead of being sent to la
      server = await server.restart()
      await la.settled(20_000)
      await takenBy(lb, actor)
    })
  }, 60_000)

  it("leases - a lease write that timed out but landed later is deleted once the store answers, so it never names a node that does not run the actor", async () => {
    await withTwoNodes("t", "uncertain", async (la, lb, actor) => {
      // the server stalls with la's create on the wire: la's request times out, the write lands on resume
      process.kill(server.pid, "SIGSTOP")
      let failed: unknown
      let took = ""
      try {
        // stopped for certain before the write goes out (state T in /proc)
        await waitUntil(() => processState(server.pid) === "T", { timeoutMs: 10_000, message: "the server stopped" })
        await la.acquire(actor, () => {})
        took = `the create was answered while server ${server.pid} was in state ${processState(server.pid)}; the connection is on port ${nc.info?.port} (the server's: ${server.port})`
      } catch (e) {
        failed = e
      } finally {
        process.kill(server.pid, "SIGCONT")
      }
      expect(failed, took).toBeDefined()
      expect(isLeaseHeldError(failed)).toBe(false)
      expect(la.held.size).toBe(0)
      await la.settled(20_000)
      await takenBy(lb, actor)
    })
  }, 60_000)
})
