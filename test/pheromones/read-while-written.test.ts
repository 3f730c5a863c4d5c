import { afterAll, describe, expect, it } from "vitest"
import { createPheromones } from "../../runtime/stigmergy/pheromones.ts"
import { natsPerFile } from "../helpers/nats.ts"

const ctx = natsPerFile()

/** Settles with "stuck" when the read has not answered after `ms` (far beyond any healthy read). */
const orStuck = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<"stuck">((r) => setTimeout(() => r("stuck"), ms).unref())])

describe("reads while the trails are written", () => {
  const ph = () => createPheromones(ctx.nc, { emitter: "reader-test" })
  const opened: Array<{ close(): Promise<void> }> = []
  afterAll(async () => {
    for (const p of opened) await p.close()
  })

  // nats-server 2.9's last-per-subject consumer can report one message pending after every
  // delivery once the key was written while the consumer was made; the idle heartbeat never
  // comes while the key is written every few milliseconds. A read that waited for "nothing
  // pending" then never answered (a recruiter's detect of a load trail renewed every 100 ms
  // hung for the whole of a test). The same server can deliver a message twice at the start of
  // a read, and a read that counted messages then missed a key. Every read must answer, with
  // each key once.
  it("detect - answers every time, with one trail per key, while a trail under its location is renewed continuously", async () => {
    const writer = ph()
    const reader = ph()
    opened.push(writer, reader)
    let writing = true
    let renewals = 0
    const renew = (async () => {
      while (writing) {
        await writer.deposit({ type: "load", location: "elastic.capability.rx.hot", id: "node-a", strength: 1, ttlMs: 60_000, decay: "linear" })
        renewals++
        await new Promise((r) => setTimeout(r, 2))
      }
    })()
    try {
      await writer.deposit({ type: "load", location: "elastic.capability.rx.cold", id: "node-a", strength: 0.5, ttlMs: 60_000 })
      for (let i = 0; i < 300; i++) {
        const got = await orStuck(reader.detect({ types: ["load"], location: "elastic.capability" }), 15_000)
        if (got === "stuck") throw new Error(`detect ${i + 1} did not answer while the trail was renewed (${renewals} renewals so far)`)
        expect(got.map((t) => t.location).sort()).toEqual(["elastic.capability.rx.cold", "elastic.capability.rx.hot"])
      }
      expect(renewals).toBeGreaterThan(0)
    } finally {
      writing = false
      await renew
    }
  }, 120_000)

  // Events describe the changes after a watch started. Counting the first deliveries as "what
  // already existed" was fooled by the same server behaviour: a message delivered twice at the
  // start took the place of the next write, which was then never announced.
  //
  // The bucket keeps one value per trail, so a write replaced by the next one before the watch
  // got to it is announced at the newer write only (the README says so): while the key is
  // written every 2 ms, which writes between the start and the end are announced depends on
  // timing. What does not: nothing acknowledged before the watch was asked for is announced,
  // nothing is announced twice or out of order, and a write that stays the trail's value is
  // announced. So each round pauses the writer, makes one last write, and waits for it.
  it("watch - announces each write once and never one made before it started, and always the trail's last write, while the key is written continuously", async () => {
    const writer = ph()
    const reader = ph()
    opened.push(writer, reader)
    let lastAcked = 0
    const deposit = async () => {
      const t = await writer.deposit({ type: "load", location: "elastic.capability.rx.warm", id: "node-b", strength: 1, ttlMs: 60_000 })
      lastAcked = Math.max(lastAcked, t.revision)
      return t.revision
    }
    let writing = true
    let writer$: Promise<void> = Promise.resolve()
    const startWriting = () => {
      writing = true
      writer$ = (async () => {
        while (writing) {
          await deposit()
          await new Promise((r) => setTimeout(r, 2))
        }
      })()
    }
    const stopWriting = async () => {
      writing = false
      await writer$
    }
    try {
      await deposit()
      for (let round = 0; round < 25; round++) {
        startWriting()
        await new Promise((r) => setTimeout(r, 5 + (round % 5)))
        const heard: number[] = []
        const existing = lastAcked
        const w = await reader.watch({ deposited: (t) => void heard.push(t.revision) }, { location: "elastic.capability.rx.warm", sweep: false })
        await new Promise((r) => setTimeout(r, 20))
        await stopWriting()
        const last = await deposit()
        const deadline = Date.now() + 10_000
        while (!heard.includes(last) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
        await w.stop()
        expect(heard.filter((r) => r <= existing), `round ${round}: writes acknowledged before the watch was asked for, announced`).toEqual([])
        expect(heard, `round ${round}: the trail's last write was never announced`).toContain(last)
        expect(heard, `round ${round}: a write announced twice or out of order`).toEqual([...new Set(heard)].sort((a, b) => a - b))
      }
    } finally {
      await stopWriting()
    }
  }, 120_000)
})
