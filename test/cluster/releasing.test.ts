/**
 * When a losing node may drop a partition's subscription in a hand-over (runtime/cluster/releasing.ts):
 * a grace after it saw every gaining node serve, at once when nobody gains it or the hand-over
 * timed out. Time is passed in, so these cases are exact.
 */
import { describe, expect, it } from "vitest"
import { INTEREST_GRACE_MS, releasingPartitions } from "../../runtime/cluster/releasing.ts"

describe("releasing partitions", () => {
  it("releasing - a partition goes a grace after every gaining node was seen serving it, not at the first sight", () => {
    const r = releasingPartitions()
    r.mark(7, 1_000)
    expect(r.ready(7, 1_010, false, () => "waiting")).toBe(false)
    // first seen served at 1,050: kept until the grace has passed from then
    expect(r.ready(7, 1_050, false, () => "served")).toBe(false)
    expect(r.ready(7, 1_050 + INTEREST_GRACE_MS - 1, false, () => "served")).toBe(false)
    expect(r.ready(7, 1_050 + INTEREST_GRACE_MS, false, () => "served")).toBe(true)
  })

  it("releasing - a gaining node that stops serving starts the grace again; no gaining node or a timeout needs none", () => {
    const r = releasingPartitions(100)
    r.mark(1, 0)
    expect(r.ready(1, 10, false, () => "served")).toBe(false)
    expect(r.ready(1, 60, false, () => "waiting")).toBe(false)
    expect(r.ready(1, 120, false, () => "served")).toBe(false)
    expect(r.ready(1, 219, false, () => "served")).toBe(false)
    expect(r.ready(1, 220, false, () => "served")).toBe(true)
    r.mark(2, 0)
    expect(r.ready(2, 0, false, () => "none")).toBe(true)
    r.mark(3, 0)
    expect(r.ready(3, 0, true, () => "waiting")).toBe(true)
  })

  it("releasing - marking keeps the first time; dropping forgets the partition and when it was seen served", () => {
    const r = releasingPartitions(100)
    r.mark(4, 5)
    r.mark(4, 50)
    expect(r.entries()).toEqual([[4, 5]])
    expect(r.ready(4, 10, false, () => "served")).toBe(false)
    r.drop(4)
    expect(r.entries()).toEqual([])
    expect(r.size).toBe(0)
    r.mark(4, 300)
    // seen served at 10 before the drop: that sighting no longer counts
    expect(r.ready(4, 300, false, () => "served")).toBe(false)
    expect(r.ready(4, 400, false, () => "served")).toBe(true)
  })
})
