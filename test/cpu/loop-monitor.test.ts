import { describe, expect, it } from "vitest"
import { LoopMonitor, type BlockReport } from "../../runtime/cpu/loop-monitor.ts"
import { waitUntil } from "../helpers/wait-until.ts"

function spin(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // busy
  }
}

describe("loop monitor", () => {
  it("loop monitor - a long synchronous handler is reported naming its actor", () => {
    const reports: BlockReport[] = []
    const m = new LoopMonitor({ thresholdMs: 50, onBlocked: (r) => reports.push(r) })
    m.enter({ tenant: "a", type: "chaos", id: "x" }, "Spin")
    spin(80)
    m.exit()
    m.enter({ tenant: "a", type: "chaos", id: "y" }, "Get")
    m.exit()
    expect(reports.length).toBe(1)
    expect(reports[0].actor).toEqual({ tenant: "a", type: "chaos", id: "x", tag: "Spin" })
    expect(reports[0].blockedMs).toBeGreaterThan(50)
    expect(m.blocked).toBe(1)
  })

  it("loop monitor - lag outside any slot is reported with the handlers in flight as suspects", async () => {
    const reports: BlockReport[] = []
    const m = new LoopMonitor({ thresholdMs: 50, intervalMs: 20, onBlocked: (r) => reports.push(r) })
    const actor = { tenant: "b", type: "chaos", id: "z", tag: "Sleep" }
    m.began(actor)
    m.start()
    await new Promise((r) => setTimeout(r, 30))
    spin(150)
    await waitUntil(() => reports.length > 0)
    m.stop()
    expect(reports[0].actor).toBeUndefined()
    expect(reports[0].suspects).toEqual([actor])
  })
})
