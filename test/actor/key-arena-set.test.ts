/**
 * The store of sleeping actors' keys (runtime/actor/key-arena-set.ts) against a `Set` of strings
 * as the oracle: membership, size and iteration order (insertion order, as a `Set`) across
 * growth, tombstones, compaction and shrinking; any string, not only actor keys; deletes and adds
 * during an iteration. And SleepingActors' booking of sleep on top of it.
 */
import { afterEach, describe, expect, it, vi } from "vitest"
import { KeyArenaSet } from "../../runtime/actor/key-arena-set.ts"
import { SleepingActors } from "../../runtime/actor/sleeping-actors.ts"
import { actorKey } from "../../subjects/inbound.ts"

/** mulberry32: a seeded generator, so a failure is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function expectSame(set: KeyArenaSet, oracle: Set<string>): void {
  expect(set.size).toBe(oracle.size)
  const got = [...set]
  const want = [...oracle]
  expect(got.length).toBe(want.length)
  // the first difference, not a deep diff of 100,000 strings
  const at = got.findIndex((k, i) => k !== want[i])
  expect(at < 0 ? undefined : { at, got: got[at], want: want[at] }).toBeUndefined()
}

describe("KeyArenaSet", () => {
  it("key arena set - adds, finds and deletes keys; a second add or delete changes nothing", () => {
    const s = new KeyArenaSet()
    expect(s.size).toBe(0)
    expect(s.has("default\u0000a")).toBe(false)
    s.add("default\u0000a").add("default\u0000b").add("default\u0000a")
    expect(s.size).toBe(2)
    expect(s.has("default\u0000a")).toBe(true)
    expect(s.has("default\u0000b")).toBe(true)
    expect(s.has("default\u0000c")).toBe(false)
    expect(s.has("default\u0000")).toBe(false)
    expect(s.has("default\u0000aa")).toBe(false)
    expect(s.delete("default\u0000a")).toBe(true)
    expect(s.delete("default\u0000a")).toBe(false)
    expect(s.delete("default\u0000zz")).toBe(false)
    expect(s.has("default\u0000a")).toBe(false)
    expect([...s]).toEqual(["default\u0000b"])
    expect(s.delete("default\u0000b")).toBe(true)
    expect(s.size).toBe(0)
    expect([...s]).toEqual([])
  })

  it("key arena set - keeps insertion order across growth, and a key deleted and added again goes last", () => {
    const s = new KeyArenaSet()
    const oracle = new Set<string>()
    for (let i = 0; i < 20_000; i++) {
      const k = actorKey(`t${i % 7}`, `id-${i}_x`)
      s.add(k)
      oracle.add(k)
    }
    expectSame(s, oracle)
    for (let i = 0; i < 20_000; i += 3) {
      const k = actorKey(`t${i % 7}`, `id-${i}_x`)
      expect(s.delete(k)).toBe(true)
      oracle.delete(k)
    }
    for (let i = 0; i < 20_000; i += 9) {
      const k = actorKey(`t${i % 7}`, `id-${i}_x`)
      s.add(k)
      oracle.add(k)
    }
    expectSame(s, oracle)
    for (const k of oracle) expect(s.has(k)).toBe(true)
    for (let i = 20_000; i < 21_000; i++) expect(s.has(actorKey(`t${i % 7}`, `id-${i}_x`))).toBe(false)
  })

  it("key arena set - holds any string exactly: empty, NUL, Latin-1, other planes, lone surrogates, long ones", () => {
    const long = "x".repeat(70_000)
    const keys = [
      "",
      "\u0000",
      "a\u0000b",
      "caf\u00e9\u00ff\u0080",
      "\u0100",
      "\u65e5\u672c\u8a9e",
      "\ud83d\udc1c ants",
      "\ud800",
      "\udfff\ud800",
      "a".repeat(127),
      "a".repeat(128),
      "b".repeat(5_000),
      long,
      long + "\u20ac",
      "\u20ac".repeat(9_000),
    ]
    const s = new KeyArenaSet()
    for (const k of keys) s.add(k)
    expect(s.size).toBe(keys.length)
    expect([...s]).toEqual(keys)
    for (const k of keys) expect(s.has(k)).toBe(true)
    // near misses: one code unit changed, one more or fewer, the narrow twin of a wide key
    expect(s.has("\u00e9")).toBe(false)
    expect(s.has("\ud801")).toBe(false)
    expect(s.has("a".repeat(129))).toBe(false)
    expect(s.has(long.slice(1))).toBe(false)
    expect(s.has(long + "\u00ac")).toBe(false)
    expect(s.has("\u0000\u0000")).toBe(false)
    for (const k of keys.filter((_, i) => i % 2 === 0)) expect(s.delete(k)).toBe(true)
    expect([...s]).toEqual(keys.filter((_, i) => i % 2 === 1))
  })

  it("key arena set - keeps the prefix before the first NUL once, and keys whole past 65,536 prefixes", () => {
    const s = new KeyArenaSet()
    const oracle = new Set<string>()
    const keys = ["t\u0000", "t\u0000\u0000", "\u0000", "\u0000a", "t\u0000a\u0000b", "ta", "t", "\u00e9\u0000\u20ac", "\u20ac\u0000\u00e9"]
    for (let i = 0; i < 70_000; i++) keys.push(actorKey(`tenant-${i}`, "x"), actorKey(`tenant-${i % 1_000}`, `id${i}`))
    for (const k of keys) {
      s.add(k)
      oracle.add(k)
    }
    expectSame(s, oracle)
    expect(keys.filter((k) => !s.has(k))).toEqual([])
    // a prefix never seen, one seen only past the table's end, one seen with another id
    expect(s.has(actorKey("tenant-x", "x"))).toBe(false)
    expect(s.has(actorKey("tenant-69999", "y"))).toBe(false)
    expect(s.has(actorKey("tenant-5", "y"))).toBe(false)
    expect(s.has("t\u0000b")).toBe(false)
    for (let i = 0; i < keys.length; i += 2) {
      expect(s.delete(keys[i]!)).toBe(true)
      oracle.delete(keys[i]!)
    }
    expectSame(s, oracle)
    expect(keys.filter((k) => s.has(k) !== oracle.has(k))).toEqual([])
  })

  it("key arena set - agrees with a Set over 100,000 random adds, deletes and lookups", () => {
    const random = rng(18)
    const s = new KeyArenaSet()
    const oracle = new Set<string>()
    // a pool small enough that keys come back often (tombstones reused), with a wide key now and then
    const pool = Array.from({ length: 3_000 }, (_, i) =>
      i % 97 === 0 ? `w\u0416${i}` : i % 89 === 0 ? `plain-${i}` : i % 83 === 0 ? `t\u0416\u0000x${i}\u0000y` : actorKey(`tenant${i % 5}`, `a${i.toString(36)}`),
    )
    for (let op = 0; op < 100_000; op++) {
      // phases: growing, shrinking, mixed, so the table grows, shrinks and compacts
      const phase = Math.floor(op / 10_000) % 3
      const pAdd = phase === 0 ? 0.7 : phase === 1 ? 0.25 : 0.5
      const k = pool[Math.floor(random() * pool.length)]!
      const r = random()
      if (r < pAdd * 0.8) {
        s.add(k)
        oracle.add(k)
      } else if (r < 0.8) {
        expect(s.delete(k)).toBe(oracle.delete(k))
      } else {
        expect(s.has(k)).toBe(oracle.has(k))
      }
      expect(s.size).toBe(oracle.size)
      if (op % 5_000 === 4_999) expectSame(s, oracle)
    }
    expectSame(s, oracle)
    for (const k of pool) expect(s.has(k)).toBe(oracle.has(k))
  })

  it("key arena set - gives its bytes back when most keys go, and all of them when the last goes", () => {
    const s = new KeyArenaSet()
    const keys = Array.from({ length: 100_000 }, (_, i) => actorKey("default", `d${i}`))
    for (const k of keys) s.add(k)
    const full = s.byteLength
    // about 8 B of id and header (the tenant kept once), and 4 B a slot at 3/8 to 3/4 full
    expect(full / keys.length).toBeLessThan(30)
    for (const k of keys.slice(100)) s.delete(k)
    expect(s.byteLength).toBeLessThan(full / 50)
    expect([...s]).toEqual(keys.slice(0, 100))
    for (const k of keys.slice(0, 100)) s.delete(k)
    expect(s.size).toBe(0)
    expect(s.byteLength).toBeLessThanOrEqual(16 * 4)
    s.add(keys[0]!)
    expect([...s]).toEqual([keys[0]])
  })

  it("key arena set - an iteration skips keys deleted before it reaches them and visits keys added during it", () => {
    const s = new KeyArenaSet()
    const oracle = new Set<string>()
    for (let i = 0; i < 5_000; i++) {
      s.add(`k${i}`)
      oracle.add(`k${i}`)
    }
    const seen: string[] = []
    const seenOracle: string[] = []
    // the same deletes and adds, made while each is iterated
    const step = (set: { add(k: string): unknown; delete(k: string): boolean }, k: string, out: string[]) => {
      out.push(k)
      const i = Number(k.slice(1))
      if (i % 2 === 0) set.delete(k) // itself, already visited
      if (i < 5_000) set.delete(`k${4_999 - i}`) // one not yet visited
      if (i % 10 === 0 && i < 5_000) set.add(`k${10_000 + i}`) // visited later
    }
    for (const k of s) step(s, k, seen)
    for (const k of oracle) step(oracle, k, seenOracle)
    expect(seen).toEqual(seenOracle)
    expectSame(s, oracle)
  })

  it("key arena set - waits for an open iteration to compact, then compacts", () => {
    const s = new KeyArenaSet()
    for (let i = 0; i < 10_000; i++) s.add(`key-${i}`)
    const it = s[Symbol.iterator]()
    expect(it.next().value).toBe("key-0")
    for (let i = 1; i < 9_990; i++) s.delete(`key-${i}`)
    // the deletes left the arena in place: the iterator goes on from where it was
    expect(it.next().value).toBe("key-9990")
    const held = s.byteLength
    it.return(undefined)
    s.delete("key-9990")
    expect(s.byteLength).toBeLessThan(held)
    expect([...s]).toEqual(["key-0", ...Array.from({ length: 9 }, (_, i) => `key-${9_991 + i}`)])
  })

  it("key arena set - clear during an iteration ends it, and keys added afterwards are visited", () => {
    const s = new KeyArenaSet()
    for (let i = 0; i < 100; i++) s.add(`a${i}`)
    const seen: string[] = []
    for (const k of s) {
      seen.push(k)
      if (k === "a10") {
        s.clear()
        s.add("b")
      }
    }
    expect(seen).toEqual([...Array.from({ length: 11 }, (_, i) => `a${i}`), "b"])
    expect([...s]).toEqual(["b"])
  })
})

describe("SleepingActors", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("sleeping actors - books the sleep of all held at each change: count x time since the last booking", () => {
    vi.useFakeTimers({ toFake: ["Date"], now: 1_000_000 })
    const stats = { sleepingMs: 0 }
    const sleeping = new SleepingActors(stats)
    sleeping.add(actorKey("default", "a"))
    vi.setSystemTime(1_000_100)
    sleeping.add(actorKey("default", "b"))
    expect(stats.sleepingMs).toBe(100)
    vi.setSystemTime(1_000_400)
    // not asleep here: nothing booked, nothing removed
    expect(sleeping.delete(actorKey("default", "c"))).toBe(false)
    expect(stats.sleepingMs).toBe(100)
    expect(sleeping.delete(actorKey("default", "a"))).toBe(true)
    expect(stats.sleepingMs).toBe(100 + 2 * 300)
    vi.setSystemTime(1_000_500)
    sleeping.book()
    expect(stats.sleepingMs).toBe(700 + 100)
    expect(sleeping.size).toBe(1)
    expect(sleeping.has(actorKey("default", "b"))).toBe(true)
    expect(sleeping.has(actorKey("default", "a"))).toBe(false)
    expect([...sleeping]).toEqual([actorKey("default", "b")])
  })
})
