/**
 * Paced reads (runtime/client/paced-reads.ts): a flooded connection hands nats.js at most one
 * slice of bytes per event-loop turn, so other connections and timers get the loop between
 * slices; messages split across slices arrive whole and in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { holdReads, paceReads, KEEPALIVE_MS, SLICE_BYTES } from "../../runtime/client/paced-reads.ts"
import { natsPerFile, rawConnect } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const nats = natsPerFile()
let reader: NatsConnection
const enc = new TextEncoder()
const dec = new TextDecoder()

beforeAll(async () => {
  reader = await rawConnect(nats.server.url)
  expect(paceReads(reader)).toBe(true)
})

afterAll(async () => {
  await reader?.close()
})

/** Counts event-loop turns (one check phase each) until stopped. */
function turns(): { readonly now: () => number; stop(): void } {
  let turn = 0
  let on = true
  const tick = () => {
    turn++
    if (on) setImmediate(tick)
  }
  setImmediate(tick)
  return { now: () => turn, stop: () => void (on = false) }
}

describe("paced reads", () => {
  it("paced reads - a flood is handed over one slice per event-loop turn, not one socket chunk", async () => {
    const subject = "paced.small"
    const n = 20_000
    const body = enc.encode("x".repeat(64))
    // what one message takes on the wire: MSG <subject> <sid> <size>\r\n<body>\r\n
    const wire = `MSG ${subject} 1 ${body.length}\r\n`.length + body.length + 2
    const perTurn = new Map<number, number>()
    let got = 0
    const clock = turns()
    reader.subscribe(subject, {
      callback: () => {
        got++
        const t = clock.now()
        perTurn.set(t, (perTurn.get(t) ?? 0) + 1)
      },
    })
    await reader.flush()
    for (let i = 0; i < n; i++) nats.nc.publish(subject, body)
    await nats.nc.flush()
    await waitUntil(() => got === n, { timeoutMs: 30_000 })
    clock.stop()
    const most = Math.max(...perTurn.values())
    // a slice ends at most one message early and may finish one begun in the turn before
    expect(most).toBeLessThanOrEqual(Math.ceil(SLICE_BYTES / wire) + 1)
    // the flood did arrive in chunks larger than a slice (else this test would show nothing)
    expect(perTurn.size).toBeGreaterThan((n * wire) / (64 * 1024))
  })

  it("paced reads - messages cut across slices arrive whole and in order, small and large alike", async () => {
    const subject = "paced.mixed"
    const sizes = Array.from({ length: 600 }, (_, i) => (i % 7 === 0 ? 3 * SLICE_BYTES + (i % 13) : (i * 37) % 900))
    const seen: Array<{ i: number; pad: number }> = []
    let bad = 0
    reader.subscribe(subject, {
      callback: (_e, m) => {
        const { i, pad } = JSON.parse(dec.decode(m.data)) as { i: number; pad: string }
        if (pad !== "p".repeat(sizes[i])) bad++
        seen.push({ i, pad: pad.length })
      },
    })
    await reader.flush()
    sizes.forEach((size, i) => nats.nc.publish(subject, enc.encode(JSON.stringify({ i, pad: "p".repeat(size) }))))
    await nats.nc.flush()
    await waitUntil(() => seen.length === sizes.length, { timeoutMs: 30_000 })
    expect(bad).toBe(0)
    expect(seen.map((s) => s.i)).toEqual(sizes.map((_, i) => i))
  })

  it("paced reads - a held connection hands nothing over until released, then everything in order", async () => {
    const subject = "paced.held"
    const seen: number[] = []
    reader.subscribe(subject, { callback: (_e, m) => void seen.push(Number(dec.decode(m.data))) })
    await reader.flush()
    const probe = await rawConnect(nats.server.url)
    try {
      let probed = false
      probe.subscribe("paced.probe", { callback: () => void (probed = true) })
      await probe.flush()
      const release = holdReads(reader)
      for (let i = 0; i < 2_000; i++) nats.nc.publish(subject, enc.encode(String(i)))
      // the server has taken the messages (and queued them for the reader) when the probe,
      // published after them, comes back; then the reader's socket gets a hundred turns
      nats.nc.publish("paced.probe", enc.encode("after"))
      await waitUntil(() => probed)
      for (let t = 0; t < 100; t++) await new Promise((r) => setImmediate(r))
      expect(seen.length).toBe(0)
      release()
      await waitUntil(() => seen.length === 2_000)
      expect(seen).toEqual(Array.from({ length: 2_000 }, (_, i) => i))
    } finally {
      await probe.close()
    }
  })

  it("paced reads - a connection held longer than the server's ping window stays connected (it pings the server itself) and loses nothing", async () => {
    // the shipped server settings ping every 2 s and drop a client that leaves 2 unanswered:
    // without its own PINGs a connection that reads nothing for about 6 s is dropped as stale
    const subject = "paced.keepalive"
    const seen: number[] = []
    const statuses: string[] = []
    void (async () => {
      for await (const st of reader.status()) statuses.push(st.type)
    })()
    reader.subscribe(subject, { callback: (_e, m) => void seen.push(Number(dec.decode(m.data))) })
    await reader.flush()
    const release = holdReads(reader)
    for (let i = 0; i < 2_000; i++) nats.nc.publish(subject, enc.encode(String(i)))
    await nats.nc.flush()
    // the hold outlasts the server's ping window twice over, measured in keepalive ticks
    await new Promise((r) => setTimeout(r, 9 * KEEPALIVE_MS))
    expect(seen.length).toBe(0)
    release()
    await waitUntil(() => seen.length === 2_000, { timeoutMs: 30_000, message: "every held message handed over" })
    expect(seen).toEqual(Array.from({ length: 2_000 }, (_, i) => i))
    expect(statuses.filter((t) => t === "disconnect" || t === "staleConnection")).toEqual([])
  }, 40_000)
})
