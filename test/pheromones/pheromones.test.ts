import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { natsPerFile, natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import type { Evaporation, Trail } from "../../runtime/stigmergy/trail.ts"
import { PHEROMONE_BUCKET, isPheromoneError } from "../../subjects/pheromones.ts"
import { Kvm } from "@nats-io/kv"
import { jetstreamManager } from "@nats-io/jetstream"
import { serverFeatures } from "../../runtime/server/server-features.ts"

let srv: NatsServer
let nc: NatsConnection

natsPerFile({}, (s, c) => ([srv, nc] = [s, c]))

/** How many consumers of the pheromone stream read exactly this key filter. */
async function consumersOn(filter: string): Promise<number> {
  const jsm = await jetstreamManager(nc)
  const all = await jsm.consumers.list(`KV_${PHEROMONE_BUCKET}`).next()
  return all.filter((c) => c.config.filter_subject === `$KV.${PHEROMONE_BUCKET}.${filter}`).length
}

/** A tenant per test, from its title, so tests never see each other's trails. */
let n = 0
const tenantFor = (label: string) => `${label.replace(/[^A-Za-z0-9]+/g, "-").slice(0, 24)}-${++n}`

async function rejection(p: Promise<unknown>): Promise<{ _tag?: string; code?: string; message?: string }> {
  try {
    await p
  } catch (e) {
    return e as { _tag?: string; code?: string }
  }
  throw new Error("expected a rejection")
}

describe("pheromones", () => {
  it("pheromones - a deposit is detected with its current strength and age", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("deposit"), emitter: "t/agent/a1" })
    const trail = await ph.deposit({ type: "danger", strength: "high", location: "integrations.stripe", data: { status: 429 } })
    expect(trail.key).toBe(`${ph.tenant}.integrations.stripe.${trail.id}`)
    const found = await ph.detect({ location: "integrations" })
    expect(found).toHaveLength(1)
    expect(found[0]).toMatchObject({ type: "danger", strength: 0.7, location: "integrations.stripe", emitter: "t/agent/a1", data: { status: 429 }, reinforcements: 0 })
    expect(found[0].current).toBeGreaterThan(0.6)
    expect(found[0].current).toBeLessThanOrEqual(0.7)
    expect(found[0].ageMs).toBeGreaterThanOrEqual(0)
  })

  it("pheromones - detection filters by type, location prefix and minimum strength, strongest first", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("filter") })
    await ph.deposit({ type: "success", strength: "low", location: "finance.reconciliation" })
    await ph.deposit({ type: "success", strength: "critical", location: "finance.reconciliation.weekly" })
    await ph.deposit({ type: "success", strength: "medium", location: "finance" })
    await ph.deposit({ type: "task", strength: "critical", location: "finance.reconciliation" })
    await ph.deposit({ type: "success", strength: "critical", location: "hr.payroll" })
    const all = await ph.detect({ types: ["success"], location: "finance" })
    expect(all.map((t) => t.strength)).toEqual([1, 0.5, 0.3])
    const deep = await ph.detect({ types: ["success"], location: "finance.reconciliation" })
    expect(deep.map((t) => t.location)).toEqual(["finance.reconciliation.weekly", "finance.reconciliation"])
    const exact = await ph.detect({ location: "finance.reconciliation", exact: true })
    expect(exact.map((t) => t.type).sort()).toEqual(["success", "task"])
    const strong = await ph.detect({ location: "finance", minStrength: 0.4 })
    expect(strong.map((t) => t.strength)).toEqual([1, 1, 0.5])
    expect(await ph.detect({ location: "finance", limit: 2 })).toHaveLength(2)
    expect(await ph.detect({ location: "nowhere" })).toEqual([])
  })

  it("pheromones - current strength decays linearly within tolerance", async () => {
    let now = Date.now()
    const ph = createPheromones(nc, { tenant: tenantFor("decay"), now: () => now })
    await ph.deposit({ type: "task", strength: "critical", location: "ops", ttlMs: 300_000, decay: "linear" })
    now += 60_000
    expect((await ph.detect())[0].current).toBeCloseTo(0.8, 6)
    now += 90_000
    expect((await ph.detect())[0].current).toBeCloseTo(0.5, 6)
    now += 90_000
    const [t] = await ph.detect()
    expect(t.current).toBeCloseTo(0.2, 6)
    expect(t.ageMs).toBe(240_000)
    now += 60_000
    expect(await ph.detect()).toEqual([])
  })

  it("pheromones - exponential decay halves every quarter of the TTL and is gone at the TTL", async () => {
    let now = Date.now()
    const ph = createPheromones(nc, { tenant: tenantFor("exp"), now: () => now })
    await ph.deposit({ type: "success", strength: 0.8, location: "ops", ttlMs: 400_000 })
    now += 100_000
    const [t] = await ph.detect()
    expect(t.decay).toBe("exponential")
    expect(t.current).toBeCloseTo(0.4, 6)
    now += 300_000
    expect(await ph.detect()).toEqual([])
  })

  it("pheromones - reinforcement adds strength capped at 1, refreshes life and counts", async () => {
    let now = Date.now()
    const ph = createPheromones(nc, { tenant: tenantFor("reinforce"), now: () => now })
    const t = await ph.deposit({ type: "task", strength: "medium", location: "ops", ttlMs: 100_000 })
    now += 50_000 // current 0.25
    const r1 = await ph.reinforce(t.key, { strength: "low" })
    expect(r1.strength).toBeCloseTo(0.55, 6)
    expect(r1.reinforcements).toBe(1)
    expect(r1.depositedAt).toBe(now)
    const r2 = await ph.reinforce({ location: "ops", id: t.id }, { strength: 1 })
    expect(r2.strength).toBe(1)
    expect(r2.reinforcements).toBe(2)
    const [seen] = await ph.detect()
    expect(seen).toMatchObject({ key: t.key, strength: 1, reinforcements: 2, emitter: "anonymous" })
    now += 100_000
    expect((await ph.reinforce(t.key).catch((e) => e)).code).toBe("not_found")
  })

  it("pheromones - 50 concurrent reinforcers lose no reinforcement", async () => {
    const tenant = tenantFor("concurrent")
    const first = createPheromones(nc, { tenant })
    const t = await first.deposit({ type: "success", strength: "trace", location: "billing", ttlMs: 600_000 })
    // Ten connections, five reinforcers on each, all at once.
    const conns = await Promise.all(Array.from({ length: 10 }, () => rawConnect(srv.url)))
    try {
      await Promise.all(
        conns.flatMap((c, i) => {
          const ph = createPheromones(c, { tenant, emitter: `agent-${i}` })
          return Array.from({ length: 5 }, () => ph.reinforce(t.key, { strength: "low" }))
        }),
      )
      const after = await first.get(t.key)
      expect(after?.reinforcements).toBe(50)
      expect(after?.strength).toBe(1)
    } finally {
      await Promise.all(conns.map((c) => c.close()))
    }
  })

  it("pheromones - deposit with onExisting reinforce creates once and then reinforces", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("upsert") })
    const results = await Promise.all(
      Array.from({ length: 10 }, () => ph.deposit({ type: "success", strength: "trace", location: "ops", id: "pattern-a", onExisting: "reinforce" })),
    )
    expect(new Set(results.map((r) => r.key)).size).toBe(1)
    const t = await ph.get({ location: "ops", id: "pattern-a" })
    expect(t?.reinforcements).toBe(9)
    expect(t?.strength).toBeGreaterThan(0.9)
    const replaced = await ph.deposit({ type: "success", strength: "low", location: "ops", id: "pattern-a" })
    expect(replaced.reinforcements).toBe(0)
  })

  it("pheromones - watchers hear deposits, reinforcements and evaporations", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("watch") })
    const events: string[] = []
    const evaporations: Evaporation[] = []
    const w = await ph.watch(
      {
        deposited: (t: Trail) => void events.push(`deposited ${t.id} ${t.type}`),
        reinforced: (t: Trail) => void events.push(`reinforced ${t.id} ${t.reinforcements}`),
        evaporated: (e) => {
          events.push(`evaporated ${e.id} ${e.reason}`)
          evaporations.push(e)
        },
      },
      { location: "ops", types: ["danger"] },
    )
    await ph.deposit({ type: "success", location: "ops", id: "ignored" })
    await ph.deposit({ type: "danger", location: "elsewhere", id: "outside" })
    await ph.deposit({ type: "danger", location: "ops.db", id: "d1" })
    await ph.reinforce({ location: "ops.db", id: "d1" })
    expect(await ph.evaporate({ location: "ops.db", id: "d1" })).toBe(true)
    expect(await ph.evaporate({ location: "ops.db", id: "d1" })).toBe(false)
    await waitUntil(() => events.length >= 3)
    expect(events).toEqual(["deposited d1 danger", "reinforced d1 1", "evaporated d1 evaporated"])
    expect(evaporations[0]).toMatchObject({ location: "ops.db", type: "danger", tenant: ph.tenant })
    await w.stop()
  })

  it("pheromones - evaporating a trail this API deposited reads nothing first; one changed by another since is read and evaporated all the same", async () => {
    const tenant = tenantFor("evaporate-known")
    const ph = createPheromones(nc, { tenant, emitter: "broker" })
    const other = createPheromones(nc, { tenant, emitter: "other" })
    const spy = await rawConnect(srv.url)
    let reads = 0
    spy.subscribe(`$JS.API.DIRECT.GET.KV_${PHEROMONE_BUCKET}.>`, { callback: () => void reads++ })
    await spy.flush()
    await ph.deposit({ type: "task", location: "work.a", id: "t1" })
    expect(await ph.evaporate({ location: "work.a", id: "t1" })).toBe(true)
    await spy.flush()
    expect(reads, "reads before evaporating the trail it deposited").toBe(0)
    expect(await other.get({ location: "work.a", id: "t1" })).toBeUndefined()
    // the revision remembered is stale: another API reinforced the trail meanwhile
    await ph.deposit({ type: "task", location: "work.a", id: "t2" })
    await other.reinforce({ location: "work.a", id: "t2" })
    reads = 0
    expect(await ph.evaporate({ location: "work.a", id: "t2" })).toBe(true)
    await spy.flush()
    expect(reads).toBe(1)
    expect(await other.get({ location: "work.a", id: "t2" })).toBeUndefined()
    expect(await ph.evaporate({ location: "work.a", id: "t2" })).toBe(false)
    await Promise.all([spy.close(), ph.close(), other.close()])
  })

  it("pheromones - an expired trail is swept and watchers hear evaporated once", async () => {
    const tenant = tenantFor("expiry")
    const ph = createPheromones(nc, { tenant, sweepIntervalMs: 50 })
    const other = createPheromones(await rawConnect(srv.url), { tenant, sweepIntervalMs: 50 })
    const heard: Evaporation[] = []
    const heardByOther: Evaporation[] = []
    const arrivedAt: number[] = []
    const w1 = await ph.watch({ evaporated: (e) => void (heard.push(e), arrivedAt.push(Date.now())) })
    const w2 = await other.watch({ evaporated: (e) => void heardByOther.push(e) }, { location: "queue" })
    const t = await ph.deposit({ type: "load", strength: "critical", location: "queue.ingest", ttlMs: 300 })
    await waitUntil(() => heard.length >= 1 && heardByOther.length >= 1, { message: "evaporated delivered to both watchers" })
    expect(heard[0]).toMatchObject({ key: t.key, reason: "expired", type: "load" })
    expect(heardByOther[0]).toMatchObject({ key: t.key, reason: "expired", type: "load" })
    // The documented delay bound (sweepIntervalMs plus a round trip), loosely: slack for a loaded machine.
    expect(arrivedAt[0] - (t.depositedAt + t.ttlMs)).toBeLessThan(50 + 2000)
    expect(await ph.detect()).toEqual([])
    // The sweeper deleted it: the bucket holds only a marker, no value.
    const kv = await new Kvm(nc).open(PHEROMONE_BUCKET)
    expect((await kv.get(t.key))?.operation).toBe("DEL")
    // A later event proves no duplicate evaporation was queued before it.
    await ph.deposit({ type: "task", location: "queue", id: "later", ttlMs: 60_000 })
    await ph.evaporate({ location: "queue", id: "later" })
    await waitUntil(() => heard.length >= 2)
    expect(heard.map((e) => e.id)).toEqual([t.id, "later"])
    await w1.stop()
    await w2.stop()
    await other.close()
  })

  it("pheromones - a reinforced trail is not swept at its first TTL", async () => {
    let now = Date.now()
    const ph = createPheromones(nc, { tenant: tenantFor("refresh"), now: () => now, sweepIntervalMs: 20 })
    const t = await ph.deposit({ type: "task", location: "ops", ttlMs: 10_000 })
    const heard: string[] = []
    const w = await ph.watch({ reinforced: (x) => void heard.push(`r${x.reinforcements}`), evaporated: () => void heard.push("evaporated") })
    now += 9_000
    await ph.reinforce(t.key)
    await waitUntil(() => heard.includes("r1"))
    now += 2_000 // past the first life, inside the second
    await ph.deposit({ type: "task", location: "ops", id: "probe", ttlMs: 10_000 })
    await ph.evaporate({ location: "ops", id: "probe" })
    await waitUntil(() => heard.includes("evaporated"))
    expect(heard).toEqual(["r1", "evaporated"])
    expect((await ph.get(t.key))?.reinforcements).toBe(1)
    now += 20_000
    await waitUntil(() => heard.length === 3)
    expect(heard[2]).toBe("evaporated")
    await w.stop()
  })

  it("pheromones - tenants are isolated", async () => {
    const a = createPheromones(nc, { tenant: tenantFor("tenant-a") })
    const b = createPheromones(nc, { tenant: tenantFor("tenant-b") })
    const ta = await a.deposit({ type: "danger", location: "shared.place", id: "x" })
    await b.deposit({ type: "danger", location: "shared.place", id: "x" })
    expect((await a.detect({ location: "shared" })).map((t) => t.key)).toEqual([ta.key])
    for (const p of [b.reinforce(ta.key), b.evaporate(ta.key), b.get(ta.key)]) {
      expect(await rejection(p)).toMatchObject({ _tag: "PheromoneError", code: "forbidden" })
    }
    expect((await a.get(ta.key))?.reinforcements).toBe(0)
  })

  it("pheromones - bad input is refused with a clear error and nothing is written", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("bad") })
    const cases: Array<[unknown, string]> = [
      [{ type: "smell", location: "ops" }, "invalid_type"],
      [{ type: "task", location: "ops", strength: 1.5 }, "invalid_strength"],
      [{ type: "task", location: "ops", strength: -0.1 }, "invalid_strength"],
      [{ type: "task", location: "ops", strength: "huge" }, "invalid_strength"],
      [{ type: "task", location: "ops.*" }, "invalid_location"],
      [{ type: "task", location: "ops..db" }, "invalid_location"],
      [{ type: "task", location: "ops db" }, "invalid_location"],
      [{ type: "task", location: "" }, "invalid_location"],
      [{ type: "task", location: "ops", ttlMs: 0 }, "invalid_ttl"],
      [{ type: "task", location: "ops", ttlMs: 2 * 3600_000 }, "invalid_ttl"],
      [{ type: "task", location: "ops", decay: "cubic" }, "invalid_decay"],
      [{ type: "task", location: "ops", data: { blob: "x".repeat(5000) } }, "data_too_large"],
      [{ type: "task", location: "ops", data: { n: 10n } }, "invalid_data"],
      [{ type: "task", location: "ops", id: "a.b" }, "invalid_id"],
    ]
    for (const [input, code] of cases) {
      const err = await rejection(ph.deposit(input as never))
      expect(isPheromoneError(err), `${JSON.stringify(input, (_k, v) => (typeof v === "bigint" ? "10n" : v))}`).toBe(true)
      expect(err.code).toBe(code)
      expect(err.message?.length).toBeGreaterThan(10)
    }
    expect(await ph.detect()).toEqual([])
    expect((await rejection(ph.reinforce("not-a-key"))).code).toBe("invalid_key")
    expect((await rejection(ph.detect({ types: ["smell"] }))).code).toBe("invalid_type")
    expect((await rejection(ph.detect({ location: "a.>" }))).code).toBe("invalid_location")
    expect((await rejection(ph.detect({ minStrength: 2 }))).code).toBe("invalid_strength")
    expect((await rejection(ph.detect({ minStrength: -0.1 }))).code).toBe("invalid_strength")
    expect(() => createPheromones(nc, { tenant: "_sys" })).toThrow(/tenant/)
    expect(() => ph.withEmitter("")).toThrow(/emitter/)
  })

  it("pheromones - a plain KV client reads trails by the documented layout", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("plain") })
    const t = await ph.deposit({ type: "capability", location: "integrations.sap", id: "need-sap", data: { capability: "sap" } })
    const kv = await new Kvm(nc).open(PHEROMONE_BUCKET)
    const keys: string[] = []
    for await (const k of await kv.keys(`${ph.tenant}.integrations.>`)) keys.push(k)
    expect(keys).toEqual([`${ph.tenant}.integrations.sap.need-sap`])
    const entry = (await kv.get(t.key))!.json<Record<string, unknown>>()
    expect(Object.keys(entry).sort()).toEqual(["data", "decay", "depositedAt", "emitter", "location", "reinforcements", "strength", "ttlMs", "type"])
  })

  it("pheromones - every write is reported for audit and start-up names the expiry path", async () => {
    const writes: string[] = []
    const ph = createPheromones(nc, { tenant: tenantFor("audit"), onWrite: (w) => void writes.push(`${w.op}:${w.emitter}`) })
    const g = await ph.ready()
    expect(g.serverVersion).toBe(srv.version)
    expect(g.summary).toMatch(g.serverTtl ? /expires each trail at its own TTL/ : /no per-message TTL/)
    const agent = ph.withEmitter("acme/worker/w1")
    const t = await agent.deposit({ type: "task", location: "ops" })
    await agent.reinforce(t.key)
    await ph.evaporate(t.key)
    await ph.deposit({ type: "success", location: "ops", id: "p", onExisting: "reinforce" }).catch(() => undefined)
    expect(writes).toEqual(["deposit:acme/worker/w1", "reinforce:acme/worker/w1", "evaporate:anonymous", "deposit:anonymous"])
  })

  it("pheromones - the expiry path follows the version the server announced and the bucket's config", async () => {
    // The version comes from the server's INFO at connect, and is the binary's own.
    const features = serverFeatures(nc)
    expect(features.version).toBe(srv.version)
    const [major, minor] = srv.version.split(".").map(Number)
    expect(features.messageTtl).toBe(major > 2 || (major === 2 && minor >= 11))
    const g = await createPheromones(nc, { tenant: tenantFor("features") }).ready()
    const jsm = await jetstreamManager(nc)
    const config = (await jsm.streams.info(`KV_${PHEROMONE_BUCKET}`)).config as { allow_msg_ttl?: boolean; allow_rollup_hdrs?: boolean }
    // server TTL only when the server has it AND the bucket was created with it
    expect(g.serverTtl).toBe(features.messageTtl && config.allow_msg_ttl === true)
    if (!features.messageTtl) expect(g.serverTtl).toBe(false)
    // rollups are off, so no write can purge the whole bucket
    expect(config.allow_rollup_hdrs).toBe(false)
  })

  it("pheromones - a minimum strength of 0 returns every live trail", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("min0") })
    await ph.deposit({ type: "task", location: "ops", strength: "trace" })
    await ph.deposit({ type: "task", location: "ops", strength: "critical" })
    expect((await ph.detect({ minStrength: 0 })).map((t) => t.strength)).toEqual([1, 0.1])
  })

  it("pheromones - oversized tokens and keys are refused, nothing is written and the connection stays up", async () => {
    const ph = createPheromones(nc, { tenant: tenantFor("long") })
    // A subject past the server's control line would make it drop the connection (and every
    // actor on it); the client would reconnect, so count disconnects rather than look at isClosed.
    let disconnects = 0
    void (async () => {
      for await (const st of nc.status()) if (st.type === "disconnect") disconnects++
    })()
    const long = "x".repeat(5000)
    const wide = Array.from({ length: 16 }, () => "y".repeat(100)).join(".")
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => ph.deposit({ type: "task", location: long }), "invalid_location"],
      [() => ph.deposit({ type: "task", location: `ops.${long}` }), "invalid_location"],
      [() => ph.deposit({ type: "task", location: wide }), "invalid_key"],
      [() => ph.deposit({ type: "task", location: "ops", id: long }), "invalid_id"],
      [() => ph.deposit({ type: "task", location: "y".repeat(128) + "." + "z".repeat(128) + "." + "w".repeat(128) + ".v", id: "i".repeat(128) }), "invalid_key"],
      [() => ph.reinforce(`${ph.tenant}.ops.${long}`), "invalid_key"],
      [() => ph.reinforce({ location: "ops", id: long }), "invalid_id"],
      [() => ph.get({ location: long, id: "a" }), "invalid_location"],
      [() => ph.evaporate(`${ph.tenant}.${wide}.a`), "invalid_key"],
      [() => ph.detect({ location: long }), "invalid_location"],
      [() => ph.detect({ location: wide }), "invalid_key"],
      [() => ph.watch({}, { location: long }), "invalid_location"],
      [() => ph.startSweeper({ location: wide }), "invalid_key"],
    ]
    for (const [call, code] of cases) {
      const e = await rejection(call())
      expect(e).toMatchObject({ _tag: "PheromoneError", code })
      expect(e.message).toMatch(/at most (128|512)/)
      expect(e.message!.length).toBeLessThan(400)
    }
    expect(() => createPheromones(nc, { tenant: long })).toThrow(/at most 128/)
    expect(await ph.detect()).toEqual([])
    expect(disconnects).toBe(0)
    expect(nc.isClosed()).toBe(false)
    const kv = await new Kvm(nc).open(PHEROMONE_BUCKET)
    const keys: string[] = []
    for await (const k of await kv.keys(`${ph.tenant}.>`)) keys.push(k)
    expect(keys).toEqual([])
    // the longest key allowed goes through
    const t = await ph.deposit({ type: "task", location: ["a".repeat(128), "b".repeat(128), "c".repeat(124 - ph.tenant.length)].join("."), id: "d".repeat(128) })
    expect(t.key.length).toBe(512)
    expect((await ph.get(t.key))?.key).toBe(t.key)
  })

  it("pheromones - close and an aborted signal stop only that view's watches", async () => {
    const tenant = tenantFor("views")
    const root = createPheromones(nc, { tenant, sweepIntervalMs: 50 })
    const ended = new AbortController()
    const v1 = root.withEmitter("v1")
    const v2 = root.withEmitter("v2", { signal: ended.signal })
    const heard: string[] = []
    await root.startSweeper()
    await root.watch({ deposited: (t) => void heard.push(t.id) }, { sweep: false })
    await v1.watch({}, { sweep: false })
    await v2.watch({}, { sweep: false })
    expect(await consumersOn(`${tenant}.>`)).toBe(4)
    await v1.close()
    ended.abort()
    await waitUntil(async () => (await consumersOn(`${tenant}.>`)) === 2, { message: "v1's and v2's watches stopped, root's two did not" })
    await v2.watch({}, { sweep: false }) // started after the abort: stops at once
    expect(await consumersOn(`${tenant}.>`)).toBe(2)
    // the root's sweeper still sweeps and its watch still hears
    const evaporated: string[] = []
    await root.watch({ evaporated: (e) => void evaporated.push(e.id) }, { sweep: false })
    const t = await v1.deposit({ type: "load", location: "q", id: "short", ttlMs: 100 })
    await waitUntil(() => heard.includes(t.id) && evaporated.includes(t.id), { message: "the root's sweeper and watch went on" })
    await root.close()
    await waitUntil(async () => (await consumersOn(`${tenant}.>`)) === 0)
  })

  it("pheromones - the bucket is created with the replicas asked for", async () => {
    expect(() => createPheromones(nc, { replicas: 0 })).toThrow(/replicas must be an integer from 1 to 5/)
    expect(() => createPheromones(nc, { replicas: 2.5 })).toThrow(/replicas/)
    // fresh servers: the bucket does not exist yet, so the first opener's replicas count
    const single = await natsFixture()
    const c = await rawConnect(single.url)
    try {
      // a single server cannot hold three replicas: the server itself refuses, so the option reached it
      expect(String((await rejection(createPheromones(c, { replicas: 3 }).ready())).message)).toMatch(/replica/i)
      await createPheromones(c, { replicas: 1 }).ready()
      const jsm = await jetstreamManager(c)
      expect((await jsm.streams.info(`KV_${PHEROMONE_BUCKET}`)).config.num_replicas).toBe(1)
    } finally {
      await c.close()
      await single.stop()
    }
  })
})
