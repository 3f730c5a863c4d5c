import { spawn, type ChildProcess } from "node:child_process"
import { createInterface } from "node:readline"
import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { defineAgent } from "../../runtime/agent/define-agent.ts"
import { startNode } from "../../runtime/node/node.ts"
import { openResourcePools, type ResourcePools } from "../../runtime/elastic/resource-pool.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const ctx = natsPerFile()
const quiet = () => {}
/** Short leases so a dead holder's slot comes back within the test (the first opener sets the bucket's). */
const LEASE_MS = 1_500

/** Handler turns running now in this process (both nodes run here), and the most seen at once. */
const running = { now: 0, max: 0, nodes: new Set<string>() }

const slow = (type: string) =>
  defineAgent({
    type,
    protocol: { Think: { message: Schema.Struct({ ms: Schema.Number }), reply: Schema.String } },
    handlers: {
      Think: async ({ ms }, c) => {
        running.now++
        running.max = Math.max(running.max, running.now)
        try {
          await new Promise((r) => setTimeout(r, ms))
          return c.self.id
        } finally {
          running.now--
        }
      },
    },
  })

describe("resource pools", () => {
  it("resource pools - one limit caps two agent types together across two nodes", async () => {
    const alpha = slow("rp_alpha")
    const beta = slow("rp_beta")
    const elastic = { loadIntervalMs: false as const, resourceLeaseTtlMs: LEASE_MS, resourcePools: [{ name: "models", limit: 2, types: ["rp_alpha", "rp_beta"] }] }
    const a = await startNode({ agents: [alpha, beta], nats: ctx.server.url, logger: quiet, elastic })
    const b = await startNode({ agents: [alpha, beta], nats: ctx.server.url, logger: quiet, elastic })
    try {
      await waitUntil(() => a.cluster.members().length === 2 && b.cluster.members().length === 2, { message: "both nodes see each other" })
      running.max = 0
      // twelve actors of the two types at once: without the pool, twelve turns would run together
      const asks = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a.client.ref(alpha, `x${i}`) : a.client.ref(beta, `y${i}`)).ask("Think", { ms: 150 }, { timeoutMs: 30_000 }))
      const ids = await Promise.all(asks)
      expect(ids).toHaveLength(12)
      expect(running.max).toBe(2)
      // both nodes ran some of them (placement spread the actors)
      const served = (n: typeof a) => n.cluster.actors({}).actors.filter((x) => x.type === "rp_alpha" || x.type === "rp_beta").length
      expect(served(a)).toBeGreaterThan(0)
      expect(served(b)).toBeGreaterThan(0)
      // every slot was released
      const reader = openResourcePools(ctx.nc, { nodeId: "reader", leaseTtlMs: LEASE_MS })
      expect(await reader.holders("default", "models", 2)).toEqual([])
      await reader.close()
    } finally {
      await b.drain()
      await a.drain()
    }
  })

  it("resource pools - the slot of a holder killed with -9 is freed by its lease, and only then", async () => {
    let child: ChildProcess | undefined
    const pools: ResourcePools = openResourcePools(ctx.nc, { nodeId: "test", leaseTtlMs: LEASE_MS })
    try {
      child = spawn(process.execPath, ["--import", "tsx", "test/elastic/fixtures/slot-holder.ts", ctx.server.url, "solo", String(LEASE_MS)], { stdio: ["ignore", "pipe", "inherit"] })
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child!.stdout! }).on("line", (l) => l.startsWith("held ") && resolve())
        child!.on("exit", (c) => reject(new Error(`slot holder exited ${c}`)))
      })
      // alive and refreshing: the slot stays taken for longer than its lease
      await expect(pools.acquire("default", "solo", 1, { waitMs: 2 * LEASE_MS })).rejects.toMatchObject({ _tag: "ResourcePoolBusyError" })
      expect((await pools.holders("default", "solo", 1)).map((h) => h.holder)).toEqual(["slot-holder"])
      child.kill("SIGKILL")
      const slot = await pools.acquire("default", "solo", 1, { waitMs: 20_000, holder: "after" })
      expect(slot.slot).toBe(0)
      expect((await pools.holders("default", "solo", 1)).map((h) => h.holder)).toEqual(["after"])
      await slot.release()
      expect(await pools.holders("default", "solo", 1)).toEqual([])
    } finally {
      child?.kill("SIGKILL")
      await pools.close()
    }
  })
})
