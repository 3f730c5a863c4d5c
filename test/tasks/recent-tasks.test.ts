/**
 * A tenant's recent tasks read from the status records in KV (what the dashboard shows an
 * operator): every task of the tenant whoever submitted it, newest update first, bounded by
 * `limit`, and none of another tenant's.
 */
import { describe, expect, it } from "vitest"
import { recentTasks } from "../../runtime/tasks/recent-tasks.ts"
import { submitTask } from "../../runtime/tasks/submit.ts"
import { natsPerFile } from "../helpers/nats.ts"

const broker = natsPerFile()

describe("recent tasks", () => {
  it("recent tasks - lists a tenant's tasks from their status records, newest first, up to the limit, no other tenant's", async () => {
    expect(await recentTasks(broker.nc, { tenant: "rt1" })).toEqual({ tasks: [], total: 0, truncated: false })
    for (const id of ["a", "b", "c"]) await submitTask(broker.nc, { capability: "rt.work", payload: { id }, idempotencyKey: `rt1-${id}` }, { tenant: "rt1" })
    await submitTask(broker.nc, { capability: "rt.work", payload: {}, idempotencyKey: "rt2-x" }, { tenant: "rt2" })
    const all = await recentTasks(broker.nc, { tenant: "rt1" })
    expect(all.total).toBe(3)
    expect(all.tasks.map((t) => t.id).sort()).toEqual(["rt1-a", "rt1-b", "rt1-c"])
    expect(all.tasks.every((t) => t.tenant === "rt1" && t.state === "pending" && t.capability === "rt.work")).toBe(true)
    const sorted = [...all.tasks].sort((x, y) => y.updatedAt.localeCompare(x.updatedAt))
    expect(all.tasks).toEqual(sorted)
    const two = await recentTasks(broker.nc, { tenant: "rt1", limit: 2 })
    expect(two.tasks).toEqual(all.tasks.slice(0, 2))
    expect(two.total).toBe(3)
    const bounded = await recentTasks(broker.nc, { tenant: "rt1", scanMax: 2 })
    expect(bounded.truncated).toBe(true)
    expect(bounded.tasks.length).toBe(2)
    expect((await recentTasks(broker.nc, { tenant: "rt2" })).tasks.map((t) => t.id)).toEqual(["rt2-x"])
  })
})
