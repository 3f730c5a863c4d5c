import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { natsPerFile, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { jetstreamManager } from "@nats-io/jetstream"
import { createWorkspace, type Artifact } from "../../runtime/stigmergy/workspace.ts"
import { WORKSPACE_BUCKET } from "../../subjects/pheromones.ts"

let srv: NatsServer
let nc: NatsConnection

natsPerFile({}, (s, c) => ([srv, nc] = [s, c]))

/** How many consumers of the workspace stream read exactly this key filter. */
async function consumersOn(filter: string): Promise<number> {
  const jsm = await jetstreamManager(nc)
  const all = await jsm.consumers.list(`KV_${WORKSPACE_BUCKET}`).next()
  return all.filter((c) => c.config.filter_subject === `$KV.${WORKSPACE_BUCKET}.${filter}`).length
}

let n = 0
const tenantFor = (label: string) => `${label.replace(/[^A-Za-z0-9]+/g, "-").slice(0, 24)}-${++n}`

async function rejection(p: Promise<unknown>): Promise<{ _tag?: string; code?: string }> {
  try {
    await p
  } catch (e) {
    return e as { _tag?: string; code?: string }
  }
  throw new Error("expected a rejection")
}

describe("workspace", () => {
  it("workspace - artifacts move through revision-checked transitions", async () => {
    const ws = createWorkspace(nc, { tenant: tenantFor("transitions"), actor: "writer" })
    const a = await ws.create({ id: "reports.q3", kind: "report", data: { pages: 1 } })
    expect(a).toMatchObject({ id: "reports.q3", status: "incomplete", kind: "report", transitions: 0, createdBy: "writer" })
    expect((await rejection(ws.create({ id: "reports.q3" }))).code).toBe("conflict")
    const b = await ws.withActor("author").transition("reports.q3", { from: "incomplete", to: "in_progress", revision: a.revision, data: { pages: 2 } })
    expect(b).toMatchObject({ status: "in_progress", previousStatus: "incomplete", transitions: 1, updatedBy: "author", data: { pages: 2 } })
    // A stale revision fails, and so does a wrong `from`.
    expect(await rejection(ws.transition("reports.q3", { to: "needs_review", revision: a.revision }))).toMatchObject({ _tag: "PheromoneError", code: "conflict" })
    expect((await rejection(ws.transition("reports.q3", { from: "incomplete", to: "needs_review" }))).code).toBe("conflict")
    const c = await ws.transition("reports.q3", { from: "in_progress", to: "needs_review" })
    expect(c.transitions).toBe(2)
    const d = await ws.update("reports.q3", { data: { pages: 3 }, revision: c.revision })
    expect(d).toMatchObject({ status: "needs_review", transitions: 2, data: { pages: 3 } })
    expect((await ws.list({ statuses: ["needs_review"] })).map((x) => x.id)).toEqual(["reports.q3"])
    expect(await ws.list({ prefix: "reports", statuses: ["done"] })).toEqual([])
    expect((await rejection(ws.transition("nope", { to: "done" }))).code).toBe("not_found")
    expect((await rejection(ws.transition("reports.q3", { to: "bad status" }))).code).toBe("invalid_status")
    expect((await rejection(ws.create({ id: "big", data: "x".repeat(300_000) }))).code).toBe("data_too_large")
    expect(await ws.remove("reports.q3")).toBe(true)
    expect(await ws.get("reports.q3")).toBeUndefined()
  })

  it("workspace - concurrent transitions from the same status: exactly one wins", async () => {
    const ws = createWorkspace(nc, { tenant: tenantFor("race") })
    await ws.create({ id: "doc", status: "needs_review" })
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => ws.withActor(`r${i}`).transition("doc", { from: "needs_review", to: "in_review" })))
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1)
    expect(results.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason.code === "conflict")).toBe(true)
  })

  it("workspace - watchers hear each arrival in a status, not data-only updates", async () => {
    const ws = createWorkspace(nc, { tenant: tenantFor("watch") })
    await ws.create({ id: "old", status: "needs_review" })
    const heard: string[] = []
    const w = await ws.watchStatus(["needs_review", "done"], (a) => void heard.push(`${a.id}:${a.status}`))
    await waitUntil(() => heard.includes("old:needs_review"))
    const x = await ws.create({ id: "x" })
    await ws.transition("x", { to: "needs_review", revision: x.revision })
    await ws.update("x", { data: { note: "typo fixed" } })
    await ws.transition("x", { from: "needs_review", to: "done" })
    await waitUntil(() => heard.includes("x:done"))
    expect(heard).toEqual(["old:needs_review", "x:needs_review", "x:done"])
    await w.stop()
  })

  it("workspace - interest with a claim delivers each transition to exactly one of many watchers", async () => {
    const tenant = tenantFor("claim")
    const conns = await Promise.all(Array.from({ length: 3 }, () => rawConnect(srv.url)))
    const delivered: Array<{ watcher: number; id: string; status: string }> = []
    const watchers = await Promise.all(
      conns.flatMap((c, i) =>
        [0, 1].map((j) =>
          createWorkspace(c, { tenant, actor: `reviewer-${i}-${j}` }).watchStatus(
            ["needs_review"],
            async (a: Artifact) => {
              delivered.push({ watcher: i * 2 + j, id: a.id, status: a.status })
              await createWorkspace(c, { tenant, actor: `reviewer-${i}-${j}` }).transition(a.id, { from: "in_review", to: "done", revision: a.revision })
            },
            { claim: "in_review" },
          ),
        ),
      ),
    )
    const author = createWorkspace(nc, { tenant, actor: "author" })
    for (let i = 0; i < 10; i++) await author.create({ id: `doc-${i}`, status: "needs_review" })
    await waitUntil(async () => (await author.list({ statuses: ["done"] })).length === 10, { message: "all ten reviewed" })
    expect(delivered.map((d) => d.id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `doc-${i}`).sort())
    expect(delivered.every((d) => d.status === "in_review")).toBe(true)
    // Sent back for another review: a new transition, delivered once more.
    await author.transition("doc-3", { from: "done", to: "needs_review" })
    await waitUntil(() => delivered.filter((d) => d.id === "doc-3").length === 2)
    await waitUntil(async () => (await author.get("doc-3"))?.status === "done")
    expect(delivered.filter((d) => d.id === "doc-3")).toHaveLength(2)
    await Promise.all(watchers.map((w) => w.stop()))
    await Promise.all(conns.map((c) => c.close()))
  })

  it("workspace - a failed claim handler releases the artifact for another try", async () => {
    const ws = createWorkspace(nc, { tenant: tenantFor("release") })
    let calls = 0
    const errors: unknown[] = []
    const w = await ws.watchStatus(
      ["incomplete"],
      async (a) => {
        calls++
        if (calls === 1) throw new Error("flaky")
        await ws.transition(a.id, { from: "in_progress", to: "done" })
      },
      { claim: "in_progress", releaseDelayMs: 20, onError: (e) => void errors.push(e) },
    )
    await ws.create({ id: "job" })
    await waitUntil(async () => (await ws.get("job"))?.status === "done")
    expect(calls).toBe(2)
    expect(errors).toHaveLength(1)
    await w.stop()
  })

  it("workspace - a claimant that dies leaves a stale claim that another watcher reaps, and the work is continued", async () => {
    const tenant = tenantFor("crash")
    const doomed = await rawConnect(srv.url)
    let startedA = false
    let unblock!: () => void
    const blocked = new Promise<void>((r) => (unblock = r))
    const wa = await createWorkspace(doomed, { tenant, actor: "a" }).watchStatus(
      ["needs_review"],
      async () => {
        startedA = true
        await blocked // never finishes its work: its process dies below
      },
      { claim: "in_review", leaseMs: 400, onError: () => {} },
    )
    const author = createWorkspace(nc, { tenant, actor: "author" })
    await author.create({ id: "doc", status: "needs_review" })
    await waitUntil(() => startedA, { message: "a claimed the artifact" })
    const claimed = await author.get("doc")
    expect(claimed).toMatchObject({ status: "in_review", previousStatus: "needs_review", claimedBy: "a", leaseMs: 400 })
    expect(typeof claimed?.claimedAt).toBe("number")
    await doomed.close() // the claimant is gone, its claim still held

    const delivered: Artifact[] = []
    const bws = createWorkspace(nc, { tenant, actor: "b" })
    const wb = await bws.watchStatus(
      ["needs_review"],
      async (x) => {
        delivered.push(x)
        await bws.transition(x.id, { to: "done", revision: x.revision })
      },
      { claim: "in_review", leaseMs: 400 },
    )
    await waitUntil(async () => (await author.get("doc"))?.status === "done", { message: "b continued the work" })
    expect(delivered.map((d) => [d.status, d.claimedBy])).toEqual([["in_review", "b"]])
    const doc = await author.get("doc")
    expect(doc).toMatchObject({ status: "done", updatedBy: "b", previousStatus: "in_review" })
    expect(doc?.claimedBy).toBeUndefined() // moving out of the claim status ends the claim
    await wb.stop()
    unblock()
    await wa.stop()
  })

  it("workspace - a handler error left to the lease is delivered again once the lease runs out", async () => {
    const ws = createWorkspace(nc, { tenant: tenantFor("lease"), actor: "worker" })
    const calls: number[] = []
    const w = await ws.watchStatus(
      ["incomplete"],
      async (a) => {
        calls.push(Date.now())
        if (calls.length === 1) throw Object.assign(new Error("no answer in time"), { code: "timeout" })
        await ws.transition(a.id, { to: "done", revision: a.revision })
      },
      { claim: "in_progress", leaseMs: 300, releaseDelayMs: 0, releaseOnError: (e) => (e as { code?: string }).code !== "timeout", onError: () => {} },
    )
    const job = await ws.create({ id: "job" })
    await waitUntil(async () => (await ws.get("job"))?.status === "done")
    expect(calls).toHaveLength(2)
    // not released at once (releaseDelayMs 0): it waited for the lease
    expect(calls[1] - job.createdAt).toBeGreaterThanOrEqual(300)
    await w.stop()
  })

  it("workspace - close and an aborted signal stop only that view's watches", async () => {
    const tenant = tenantFor("views")
    const root = createWorkspace(nc, { tenant })
    const ended = new AbortController()
    const v1 = root.withActor("v1")
    const v2 = root.withActor("v2", { signal: ended.signal })
    const heard: string[] = []
    await root.watchStatus(["done"], (a) => void heard.push(a.id))
    await v1.watchStatus(["done"], () => {})
    await v2.watchStatus(["done"], () => {})
    expect(await consumersOn(`${tenant}.>`)).toBe(3)
    await v1.close()
    ended.abort()
    await waitUntil(async () => (await consumersOn(`${tenant}.>`)) === 1, { message: "v1's and v2's watches stopped, root's not" })
    await v1.create({ id: "x", status: "done" })
    await waitUntil(() => heard.includes("x"), { message: "root's watch still delivers" })
    // a watch started on a view whose signal already aborted stops at once
    await v2.watchStatus(["done"], () => {})
    expect(await consumersOn(`${tenant}.>`)).toBe(1)
    await root.close()
    await waitUntil(async () => (await consumersOn(`${tenant}.>`)) === 0)
  })

  it("workspace - oversized ids, prefixes and statuses are refused and the connection stays up", async () => {
    const ws = createWorkspace(nc, { tenant: tenantFor("long") })
    const long = "x".repeat(5000)
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => ws.create({ id: long }), "invalid_id"],
      [() => ws.create({ id: Array.from({ length: 16 }, () => "y".repeat(100)).join(".") }), "invalid_id"],
      [() => ws.create({ id: "ok", status: long }), "invalid_status"],
      [() => ws.create({ id: "ok", kind: long }), "invalid_request"],
      [() => ws.get(long), "invalid_id"],
      [() => ws.list({ prefix: long }), "invalid_id"],
      [() => ws.transition("ok", { to: long }), "invalid_status"],
      [() => ws.watchStatus(["done"], () => {}, { prefix: long }), "invalid_id"],
      [() => ws.watchStatus([long], () => {}), "invalid_status"],
    ]
    for (const [p, code] of cases) {
      const e = (await rejection(p())) as { code?: string; message?: string }
      expect(e.code).toBe(code)
      expect(e.message).toMatch(/at most (128|512)/)
    }
    expect(() => createWorkspace(nc, { tenant: long })).toThrow(/at most 128/)
    expect(nc.isClosed()).toBe(false)
    expect(await ws.list()).toEqual([])
    expect((await ws.create({ id: "ok" })).status).toBe("incomplete")
  })
})
