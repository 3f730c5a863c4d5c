import { describe, expect, it } from "vitest"
import { Either } from "effect"
import {
  MAX_DATA_BYTES,
  PHEROMONE_MAX_AGE_MS,
  MAX_TTL_MS,
  PHEROMONE_TYPES,
  STRENGTH_LEVELS,
  TYPE_DEFAULTS,
  asPheromoneEntry,
  evaporationReason,
  kvOperationOf,
  decodePheromoneEntrySchema,
  locationValue,
  parsePheromoneKey,
  pheromoneFilter,
  pheromoneKey,
  type PheromoneEntry,
} from "../../subjects/pheromones.ts"
import {
  DEFAULT_STRENGTH,
  currentStrength,
  dataValue,
  makeEntry,
  makeReinforcement,
  reinforceEntry,
  strengthValue,
} from "../../runtime/stigmergy/pheromone-rules.ts"
import { parseVersion, serverFeatures, versionAtLeast } from "../../runtime/server/server-features.ts"
import { serverTtlOf, ttlHeader } from "../../runtime/stigmergy/kv-store.ts"
import { chooseStrongest, isDangerous, matchesCapabilities, patternId } from "../../runtime/stigmergy/swarm-rules.ts"
import { toTrail } from "../../runtime/stigmergy/trail.ts"
import { duration } from "../../runtime/cli/pheromone-command.ts"

const T0 = 1_700_000_000_000
const critical300 = { strength: 1, depositedAt: T0, ttlMs: 300_000, decay: "linear" as const }

describe("pheromone contract", () => {
  it("currentStrength - linear seed figures: critical, 300 s", () => {
    expect(currentStrength(critical300, T0)).toBe(1)
    expect(currentStrength(critical300, T0 + 60_000)).toBeCloseTo(0.8, 12)
    expect(currentStrength(critical300, T0 + 150_000)).toBeCloseTo(0.5, 12)
    expect(currentStrength(critical300, T0 + 240_000)).toBeCloseTo(0.2, 12)
    expect(currentStrength(critical300, T0 + 300_000)).toBe(0)
    expect(currentStrength(critical300, T0 + 10_000_000)).toBe(0)
  })

  it("currentStrength - exponential halves every quarter TTL and ends at the TTL", () => {
    const e = { ...critical300, decay: "exponential" as const }
    expect(currentStrength(e, T0 + 75_000)).toBeCloseTo(0.5, 12)
    expect(currentStrength(e, T0 + 150_000)).toBeCloseTo(0.25, 12)
    expect(currentStrength(e, T0 + 299_999)).toBeGreaterThan(0)
    expect(currentStrength(e, T0 + 300_000)).toBe(0)
  })

  it("currentStrength - a writer clock ahead of the reader counts as age 0", () => {
    expect(currentStrength(critical300, T0 - 5_000)).toBe(1)
  })

  it("strength levels - named levels and range", () => {
    expect(STRENGTH_LEVELS).toEqual({ trace: 0.1, low: 0.3, medium: 0.5, high: 0.7, critical: 1 })
    expect(DEFAULT_STRENGTH).toBe(0.5)
    expect(strengthValue("high")).toBe(0.7)
    expect(strengthValue(0.25)).toBe(0.25)
    for (const bad of [0, -0.1, 1.01, Number.NaN, "loud", null]) expect(() => strengthValue(bad)).toThrow(/strength/)
  })

  it("type defaults - every type has a TTL within the bucket's max_age and a curve", () => {
    expect(Object.keys(TYPE_DEFAULTS).sort()).toEqual([...PHEROMONE_TYPES].sort())
    for (const t of PHEROMONE_TYPES) {
      expect(TYPE_DEFAULTS[t].ttlMs).toBeLessThanOrEqual(MAX_TTL_MS)
      expect(["linear", "exponential"]).toContain(TYPE_DEFAULTS[t].decay)
    }
    expect(TYPE_DEFAULTS.danger.ttlMs).toBe(60_000)
    expect(TYPE_DEFAULTS.success.ttlMs).toBe(300_000)
    expect(PHEROMONE_MAX_AGE_MS).toBeGreaterThan(MAX_TTL_MS)
  })

  it("keys - layout <tenant>.<location...>.<id> and filters", () => {
    const key = pheromoneKey("acme", "finance.reconciliation", "t1")
    expect(key).toBe("acme.finance.reconciliation.t1")
    expect(parsePheromoneKey(key)).toEqual({ tenant: "acme", location: "finance.reconciliation", id: "t1" })
    expect(pheromoneFilter("acme")).toBe("acme.>")
    expect(pheromoneFilter("acme", "finance")).toBe("acme.finance.>")
    expect(pheromoneFilter("acme", "finance", true)).toBe("acme.finance.*")
    for (const bad of ["acme.t1", "acme..x.y", "_sys.a.b", "a.*.b", 42]) expect(() => parsePheromoneKey(bad)).toThrow()
  })

  it("locations - validated with the subject grammar", () => {
    expect(locationValue("finance.reconciliation")).toBe("finance.reconciliation")
    expect(locationValue(["a", "b"])).toBe("a.b")
    for (const bad of ["", "a..b", "a.>", "a b", "a.*", Array.from({ length: 17 }, () => "x").join(".")]) {
      expect(() => locationValue(bad)).toThrow(expect.objectContaining({ _tag: "PheromoneError", code: "invalid_location" }))
    }
  })

  it("data - size limit counts UTF-8 bytes of the JSON", () => {
    expect(dataValue(undefined)).toEqual({})
    expect(dataValue({ a: 1 })).toEqual({ a: 1 })
    expect(() => dataValue("é".repeat(MAX_DATA_BYTES / 2))).toThrow(expect.objectContaining({ code: "data_too_large" }))
    expect(() => dataValue({ f: 1n })).toThrow(expect.objectContaining({ code: "invalid_data" }))
  })

  it("entries - a deposit builds a schema-valid entry with the type's defaults", () => {
    const e = makeEntry({ type: "danger", location: "integrations.stripe" }, "acme/payer/p1", T0)
    expect(e).toEqual({
      type: "danger",
      strength: 0.5,
      location: "integrations.stripe",
      emitter: "acme/payer/p1",
      depositedAt: T0,
      ttlMs: 60_000,
      decay: "linear",
      reinforcements: 0,
      data: {},
    })
    expect(Either.isRight(decodePheromoneEntrySchema(e))).toBe(true)
    expect(asPheromoneEntry(e)).toBe(e)
  })

  it("entries - the fast guard agrees with the Schema", () => {
    const good = makeEntry({ type: "task", location: "a" }, "x", T0)
    const variants: unknown[] = [
      good,
      { ...good, type: "smell" },
      { ...good, strength: 2 },
      { ...good, ttlMs: 0 },
      { ...good, decay: "cubic" },
      { ...good, reinforcements: 1.5 },
      { ...good, reinforcements: -1 },
      { ...good, emitter: 5 },
      (({ data: _d, ...rest }) => rest)(good),
      null,
      "x",
    ]
    for (const v of variants) expect(asPheromoneEntry(v) !== undefined).toBe(Either.isRight(decodePheromoneEntrySchema(v)))
  })

  it("reinforceEntry - adds to the current strength, caps at 1, refreshes life, counts", () => {
    const e: PheromoneEntry = makeEntry({ type: "task", location: "a", strength: 0.5, ttlMs: 100_000 }, "x", T0)
    const r = reinforceEntry(e, makeReinforcement({ strength: "low" }), T0 + 50_000)!
    expect(r.strength).toBeCloseTo(0.55, 12)
    expect(r.depositedAt).toBe(T0 + 50_000)
    expect(r.reinforcements).toBe(1)
    const capped = reinforceEntry(r, makeReinforcement({ strength: 1 }), T0 + 50_000)!
    expect(capped.strength).toBe(1)
    expect(capped.reinforcements).toBe(2)
    expect(reinforceEntry(e, makeReinforcement(), T0 + 100_000)).toBeUndefined()
    // Stores only entry fields even when given a richer object.
    const fromTrail = reinforceEntry(toTrail("t.a.x", 3, e, T0), makeReinforcement(), T0)!
    expect(Object.keys(fromTrail).sort()).toEqual(Object.keys(e).sort())
  })

  it("server features - per-message TTL from 2.11", () => {
    expect(versionAtLeast("2.9.10", "2.11.0")).toBe(false)
    expect(versionAtLeast("2.10.22", "2.11.0")).toBe(false)
    expect(versionAtLeast("2.11.0", "2.11.0")).toBe(true)
    expect(versionAtLeast("2.12.1-beta", "2.11.0")).toBe(true)
    expect(versionAtLeast(undefined, "2.11.0")).toBe(false)
    expect(versionAtLeast("3.0.0", "2.11.0")).toBe(true)
    expect(versionAtLeast("2.11.0", "2.11.1")).toBe(false)
  })

  it("server features - the version a server announces at connect sets the feature flags", () => {
    expect(parseVersion("2.9.10")).toEqual([2, 9, 10])
    expect(parseVersion("v2.11.3")).toEqual([2, 11, 3])
    expect(parseVersion("2.12.0-RC.4")).toEqual([2, 12, 0])
    expect(parseVersion("nonsense")).toEqual([0, 0, 0])
    const flags = (version: string | undefined) => serverFeatures({ info: version === undefined ? undefined : ({ version } as never) })
    expect(flags("2.9.10")).toEqual({ version: "2.9.10", messageTtl: false })
    expect(flags("2.10.24")).toEqual({ version: "2.10.24", messageTtl: false })
    expect(flags("2.11.0")).toEqual({ version: "2.11.0", messageTtl: true })
    expect(flags("2.12.1")).toEqual({ version: "2.12.1", messageTtl: true })
    // not connected yet, or a server that said nothing: the fallback path
    expect(flags(undefined)).toEqual({ version: "0.0.0", messageTtl: false })
    // the server's TTL is used only when the bucket allows it too
    expect(serverTtlOf(flags("2.11.0"), { allow_msg_ttl: true })).toBe(true)
    expect(serverTtlOf(flags("2.11.0"), {})).toBe(false) // created by an older server: stays on the fallback
    expect(serverTtlOf(flags("2.9.10"), { allow_msg_ttl: true })).toBe(false)
    // Nats-TTL is whole seconds, rounded up, never 0
    expect([1, 999, 1000, 1001, 60_000].map(ttlHeader)).toEqual(["1s", "1s", "1s", "2s", "60s"])
  })

  it("markers - removal markers map to operations and evaporation reasons", () => {
    const headers = (h: Record<string, string>) => (name: string) => h[name]
    // our own sweeper's and evaporate()'s markers
    expect(kvOperationOf(headers({ "KV-Operation": "DEL", "Ants-Evaporation": "expired" }))).toBe("DEL")
    expect(evaporationReason(headers({ "KV-Operation": "DEL", "Ants-Evaporation": "expired" }))).toBe("expired")
    expect(evaporationReason(headers({ "KV-Operation": "DEL", "Ants-Evaporation": "evaporated" }))).toBe("evaporated")
    // a plain KV client's delete or purge
    expect(kvOperationOf(headers({ "KV-Operation": "PURGE" }))).toBe("PURGE")
    expect(evaporationReason(headers({ "KV-Operation": "DEL" }))).toBe("evaporated")
    // 2.11+ server markers carry only Nats-Marker-Reason (and Nats-TTL)
    expect(kvOperationOf(headers({ "Nats-Marker-Reason": "MaxAge", "Nats-TTL": "60s" }))).toBe("PURGE")
    expect(evaporationReason(headers({ "Nats-Marker-Reason": "MaxAge" }))).toBe("expired")
    expect(kvOperationOf(headers({ "Nats-Marker-Reason": "Remove" }))).toBe("PURGE")
    expect(evaporationReason(headers({ "Nats-Marker-Reason": "Remove" }))).toBe("evaporated")
    expect(evaporationReason(headers({ "Nats-Marker-Reason": "Purge" }))).toBe("evaporated")
    // our header wins over the server's
    expect(evaporationReason(headers({ "Nats-Marker-Reason": "MaxAge", "Ants-Evaporation": "evaporated" }))).toBe("evaporated")
    // a value
    expect(kvOperationOf(headers({}))).toBe("PUT")
  })

  it("swarm rules - capability matching, danger, strongest choice", () => {
    const mk = (location: string, type: PheromoneEntry["type"], strength: number, data: unknown = {}) =>
      toTrail(`t.${location}.x${Math.random().toString(36).slice(2, 8)}`, 1, { ...makeEntry({ type, location, strength }, "e", T0), data }, T0)
    const open = mk("ops.db", "task", 0.5)
    const sap = mk("erp.sap", "task", 0.9, { capability: "sap" })
    const multi = mk("erp.oracle", "task", 0.8, { capabilities: ["oracle", "sql"] })
    const risky = mk("pay.stripe.refunds", "task", 1)
    const danger = mk("pay.stripe", "danger", 0.7)
    expect(matchesCapabilities(open, [])).toBe(true)
    expect(matchesCapabilities(sap, ["sql"])).toBe(false)
    expect(matchesCapabilities(multi, ["sql"])).toBe(true)
    expect(isDangerous("pay.stripe.refunds", [danger])).toBe(true)
    expect(isDangerous("pay", [danger])).toBe(false)
    expect(isDangerous("pay.stripes", [danger])).toBe(false)
    const trails = [open, sap, multi, risky, danger]
    expect(chooseStrongest(trails, ["sql"], [danger])?.key).toBe(multi.key)
    expect(chooseStrongest(trails, ["sap", "sql"], [danger])?.key).toBe(sap.key)
    expect(chooseStrongest(trails, [], [])?.key).toBe(risky.key)
    expect(patternId("reconcile v2 (fast)")).toBe("reconcile-v2-fast")
    expect(() => patternId("!!!")).toThrow()
  })

  it("pheromone command - durations", () => {
    expect(duration("500ms")).toBe(500)
    expect(duration("60s")).toBe(60_000)
    expect(duration("5m")).toBe(300_000)
    expect(duration("1500")).toBe(1500)
    expect(() => duration("soon")).toThrow()
  })
})
