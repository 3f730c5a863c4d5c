/**
 * The lifecycle sweep (runtime/node/lifecycle-sweep.ts) on type hosts of plain objects: what it
 * visits on a tick, not how long that takes. A node holding 100,000 idle actors swept every one of
 * them on every tick; now the actors at work are visited on every tick and the others a slice at a
 * time, each at least once per cycle.
 */
import { describe, expect, it } from "vitest"
import { lifecycleSweep, SWEEP_CYCLE_MAX_MS, SWEEP_SLICE_MIN, type SweptHost } from "../../runtime/node/lifecycle-sweep.ts"

const NOW = 1_700_000_000_000
const IDLE_AFTER = 100
const TICK = 50

interface FakeCell {
  key: string
  id: string
  busy: boolean
  status: "active" | "idle" | "stopped"
  lastActivity: number
  stampActivity(now: number): void
}

function fakeHost(passivateAfterMs: number) {
  const cells = new Map<string, FakeCell>()
  const visited = new Set<string>()
  const passivations: string[] = []
  const transitions: string[] = []
  const inFlight = new Set<FakeCell>()
  let settle: "now" | "never" = "now"
  const host = {
    definition: { type: "t" },
    cells,
    recent: new Set<FakeCell>(),
    passivateAfterMs,
    hints: {
      sleepDue(key: string) {
        visited.add(key)
        return false
      },
    },
    transition(cell: FakeCell, from: string, to: string) {
      transitions.push(`${cell.id} ${from}>${to}`)
    },
    mayPassivate: () => true,
    // the host's guard (TypeHost.passivate): a passivation that has not settled is in flight
    passivating: (cell: FakeCell) => inFlight.has(cell),
    passivate(cell: FakeCell): Promise<void> {
      passivations.push(cell.id)
      inFlight.add(cell)
      if (settle === "never") return new Promise(() => undefined)
      inFlight.delete(cell)
      cell.status = "stopped"
      cells.delete(cell.key)
      return Promise.resolve()
    },
  }
  const add = (id: string, status: FakeCell["status"], lastActivity: number): FakeCell => {
    const cell: FakeCell = { key: id, id, busy: false, status, lastActivity, stampActivity: () => undefined }
    cells.set(id, cell)
    if (status === "active") host.recent.add(cell)
    return cell
  }
  return { host: host as unknown as SweptHost, add, visited, passivations, transitions, hang: () => (settle = "never") }
}

const sweepOf = () => lifecycleSweep({ idleAfterMs: IDLE_AFTER, tickMs: TICK, failed: (_h, c, e) => expect.fail(`passivation of ${c.id}: ${String(e)}`) })

describe("lifecycle sweep", () => {
  it("visits a slice of a large type's idle actors per tick and every one of them within a cycle", () => {
    // a cycle of SWEEP_CYCLE_MAX_MS (a tenth of an hour is longer): the minimum slice per tick
    const f = fakeHost(3_600_000)
    const n = 10_000
    for (let i = 0; i < n; i++) f.add(`a${i}`, "idle", NOW - 1_000)
    const sweep = sweepOf()
    sweep([f.host], NOW, NOW)
    expect(f.visited.size).toBe(SWEEP_SLICE_MIN)
    const ticks = Math.ceil(n / SWEEP_SLICE_MIN)
    for (let t = 1; t < ticks; t++) sweep([f.host], NOW + t * TICK, NOW + t * TICK)
    expect(f.visited.size).toBe(n)
    expect(ticks * TICK).toBeLessThanOrEqual(SWEEP_CYCLE_MAX_MS)
    expect(f.passivations).toEqual([])
  })

  it("passivates every due actor of a large type within one cycle, each once", async () => {
    // passivateAfterMs 20 s: a cycle of 2 s, 40 ticks; 100,000 actors, 2,500 a tick
    const f = fakeHost(20_000)
    const n = 100_000
    for (let i = 0; i < n; i++) f.add(`a${i}`, "idle", NOW - 30_000)
    const sweep = sweepOf()
    sweep([f.host], NOW, NOW)
    expect(f.passivations.length).toBe(2_500)
    for (let t = 1; t < 40; t++) sweep([f.host], NOW + t * TICK, NOW + t * TICK)
    expect(f.passivations.length).toBe(n)
    expect(new Set(f.passivations).size).toBe(n)
    expect(f.host.cells.size).toBe(0)
  })

  it("flips an actor that ran to idle on the first tick after idleAfterMs, however many idle actors the slice has to go through", () => {
    const f = fakeHost(3_600_000)
    for (let i = 0; i < 10_000; i++) f.add(`a${i}`, "idle", NOW - 1_000)
    const worker = f.add("worker", "active", NOW)
    const sweep = sweepOf()
    sweep([f.host], NOW + IDLE_AFTER - 1, NOW)
    expect(worker.status).toBe("active")
    expect(f.host.recent.size).toBe(1)
    sweep([f.host], NOW + IDLE_AFTER, NOW)
    expect(worker.status).toBe("idle")
    expect(f.transitions).toEqual(["worker active>idle"])
    // idle now: visited by the slices from here on, no longer on every tick
    expect(f.host.recent.size).toBe(0)
  })

  it("sweeps a type of at most SWEEP_SLICE_MIN actors whole on every tick", () => {
    const f = fakeHost(200)
    for (let i = 0; i < SWEEP_SLICE_MIN; i++) f.add(`a${i}`, "idle", NOW - 1_000)
    sweepOf()([f.host], NOW, NOW)
    expect(f.passivations.length).toBe(SWEEP_SLICE_MIN)
  })

  it("starts no passivation of an actor whose passivation is still in flight, however often it is visited", () => {
    const f = fakeHost(200)
    f.hang()
    f.add("slow", "idle", NOW - 1_000)
    const sweep = sweepOf()
    for (let t = 0; t < 5; t++) sweep([f.host], NOW + t * TICK, NOW + t * TICK)
    expect(f.passivations).toEqual(["slow"])
  })

  it("resumes its slice where it stopped when actors come and go between ticks", () => {
    const f = fakeHost(3_600_000)
    const n = 3 * SWEEP_SLICE_MIN
    for (let i = 0; i < n; i++) f.add(`a${i}`, "idle", NOW - 1_000)
    const sweep = sweepOf()
    sweep([f.host], NOW, NOW)
    // some visited ones leave, new ones arrive: the next slices still reach every actor present
    for (let i = 0; i < 100; i++) f.host.cells.delete(`a${i}`)
    for (let i = 0; i < 100; i++) f.add(`b${i}`, "idle", NOW - 1_000)
    for (let t = 1; t <= 3; t++) sweep([f.host], NOW + t * TICK, NOW + t * TICK)
    for (const key of f.host.cells.keys()) expect(f.visited.has(key), key).toBe(true)
  })
})
