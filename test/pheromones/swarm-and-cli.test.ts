import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { natsPerFile, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { depositSuccess, findOverloaded, followStrongest, safeLocations, strongestPatterns } from "../../runtime/stigmergy/swarm-rules.ts"
import { pheromoneCommand } from "../../runtime/cli/pheromone-command.ts"

let srv: NatsServer
let nc: NatsConnection

natsPerFile({}, (s, c) => ([srv, nc] = [s, c]))

let n = 0
const tenantFor = (label: string) => `${label.replace(/[^A-Za-z0-9]+/g, "-").slice(0, 24)}-${++n}`

describe("swarm rules", () => {
  it("swarm rules - follow the strongest task matching capabilities, away from danger", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("follow") })
    await ph.deposit({ type: "task", location: "pay.stripe.refunds", strength: "critical" })
    await ph.deposit({ type: "task", location: "pay.adyen", strength: "high", data: { capability: "adyen" } })
    await ph.deposit({ type: "task", location: "pay.manual", strength: "medium" })
    await ph.deposit({ type: "danger", location: "pay.stripe", strength: "high", data: { status: 429 } })
    expect((await followStrongest(ph, { capabilities: ["adyen"], location: "pay" }))?.location).toBe("pay.adyen")
    expect((await followStrongest(ph, { capabilities: [], location: "pay" }))?.location).toBe("pay.manual")
    expect((await followStrongest(ph, { capabilities: [], location: "pay", avoidDanger: false }))?.location).toBe("pay.stripe.refunds")
    // Danger above the searched location still counts.
    expect(await followStrongest(ph, { capabilities: [], location: "pay.stripe.refunds" })).toBeUndefined()
    expect(await safeLocations(ph, ["pay.stripe", "pay.stripe.refunds", "pay.adyen", "pay"])).toEqual(["pay.adyen", "pay"])
  })

  it("swarm rules - successes with the same pattern reinforce one trail", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("success") })
    await depositSuccess(ph.withEmitter("a1"), { location: "finance.close", pattern: "reconcile v2", strength: "low" })
    await depositSuccess(ph.withEmitter("a2"), { location: "finance.close", pattern: "reconcile v2", strength: "low" })
    await depositSuccess(ph.withEmitter("a3"), { location: "finance.close", pattern: "brute force", strength: "low" })
    const patterns = await strongestPatterns(ph, { location: "finance" })
    expect(patterns.map((p) => p.pattern)).toEqual(["reconcile v2", "brute force"])
    expect(patterns[0].trail.reinforcements).toBe(1)
    expect(patterns[0].trail.emitter).toBe("a1")
    await ph.deposit({ type: "load", location: "workers.w1", strength: 0.95 })
    await ph.deposit({ type: "load", location: "workers.w2", strength: 0.4 })
    expect((await findOverloaded(ph, { location: "workers" })).map((t) => t.location)).toEqual(["workers.w1"])
  })
})

describe("pheromone command", () => {
  const run = async (argv: string[], json = false) => {
    const lines: string[] = []
    const code = await pheromoneCommand(argv, { nc, json, out: (s) => void lines.push(s) })
    return { code, lines }
  }

  it("pheromone command - deposit, reinforce and detect with --json", async () => {
    const tenant = tenantFor("cli")
    const dep = await run(["deposit", "--tenant", tenant, "--type", "danger", "--location", "integrations.stripe", "--strength", "high", "--ttl", "60s", "--data", '{"status":429}', "--json"])
    expect(dep.code).toBe(0)
    const trail = JSON.parse(dep.lines[0])
    expect(trail).toMatchObject({ type: "danger", strength: 0.7, ttlMs: 60_000, emitter: "cli", data: { status: 429 } })
    const rf = await run(["reinforce", trail.key, "--tenant", tenant, "--strength", "0.1"], true)
    expect(JSON.parse(rf.lines[0]).reinforcements).toBe(1)
    const det = await run(["detect", "--tenant", tenant, "--location", "integrations", "--types", "danger", "--json"])
    const found = JSON.parse(det.lines[0])
    expect(found).toHaveLength(1)
    expect(found[0].current).toBeGreaterThan(0.7)
    const human = await run(["detect", "--tenant", tenant])
    expect(human.lines[0]).toContain(trail.key)
  })

  it("pheromone command - watch prints events until --count", async () => {
    const tenant = tenantFor("cli-watch")
    const lines: string[] = []
    const watching = pheromoneCommand(["watch", "--tenant", tenant, "--count", "2"], { nc, json: false, out: (s) => void lines.push(s) })
    await waitUntil(() => lines[0]?.startsWith("watching"))
    const ph = createPheromones(nc, { tenant })
    const t = await ph.deposit({ type: "coordination", location: "room", id: "probe" })
    // the bucket keeps one value per trail: an evaporation written before the watch got to the
    // deposit replaces it, and the watch would announce the evaporation alone (README, "watch")
    await waitUntil(() => lines.length >= 2)
    await ph.evaporate(t.key)
    expect(await watching).toBe(0)
    expect(lines.slice(1).map((l) => l.split(" ")[0])).toEqual(["deposited", "evaporated"])
    expect(lines[2]).toContain(`${t.key} (coordination, evaporated)`)
  })

  it("pheromone command - refusals and usage errors", async () => {
    const bad = await run(["deposit", "--type", "smell", "--location", "x"], true)
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.lines[0])).toMatchObject({ ok: false, error: { code: "invalid_type" } })
    expect((await run(["deposit", "--location", "x"])).code).toBe(2)
    expect((await run(["fly"])).code).toBe(2)
    expect((await run(["detect", "--bogus"])).code).toBe(2)
    expect((await run(["--help"])).code).toBe(0)
  })

  it("pheromone command - usage errors with --json are one JSON document", async () => {
    for (const argv of [["detect", "--bogus", "--json"], ["fly", "--json"], ["deposit", "--location", "x", "--json"], ["detect", "--limit", "0", "--json"], ["--json"]]) {
      const r = await run(argv)
      expect(r.code, argv.join(" ")).toBe(2)
      expect(r.lines).toHaveLength(1)
      const doc = JSON.parse(r.lines[0])
      expect(doc).toMatchObject({ ok: false, error: { code: "usage" } })
      expect(doc.error.message.length).toBeGreaterThan(5)
      expect(doc.error.details.usage).toContain("usage: ants pheromone")
    }
    // the caller's --json (io.json) counts too, and so does an oversized token
    expect(JSON.parse((await run(["fly"], true)).lines[0]).error.code).toBe("usage")
    const long = await run(["detect", "--location", "x".repeat(5000), "--json"])
    expect(long.code).toBe(1)
    expect(JSON.parse(long.lines[0])).toMatchObject({ ok: false, error: { code: "invalid_location" } })
    const min0 = await run(["detect", "--tenant", tenantFor("cli-min"), "--min", "0", "--json"])
    expect(min0.code).toBe(0)
    expect(JSON.parse(min0.lines[0])).toEqual([])
  })
})
