/**
 * Wakes as the seed has them, against a real nats-server: one actor woken with a reason and a
 * keep-alive stays awake that long and then sleeps as usual; a wake by type wakes an instance
 * asleep (or a new one), over NATS and the CLI; a bad wake body is refused, not dropped.
 */
import { afterEach, describe, expect, it } from "vitest"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { runCommand } from "../../runtime/cli/run-command.ts"
import { WAKE } from "../../runtime/cli/commands.ts"
import { runWake } from "../../runtime/cli/message-commands.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { watchLifecycleOf } from "../helpers/lifecycle-events.ts"
import { napper } from "./fixtures/napper-agent.ts"

const nats = natsPerFile()
const enc = new TextEncoder()
const dec = new TextDecoder()
const started: AntsNode[] = []

async function start(options: { passivateAfterMs?: number; idleAfterMs?: number } = {}): Promise<AntsNode> {
  const n = await startNode({ agents: [napper()], nats: nats.server.url, logger: process.env.DBG ? (l, m) => console.log(l, m) : () => {}, models: false, memory: false, ...options })
  started.push(n)
  return n
}

async function request(subject: string, body: unknown): Promise<any> {
  const r = await nats.nc.request(subject, enc.encode(JSON.stringify(body)), { timeout: 10_000 })
  return JSON.parse(dec.decode(r.data))
}

async function wakeCli(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = []
  const code = await runCommand(WAKE, argv, { json: false, out: (s) => out.push(s), err: (s) => out.push(s) }, (parsed, json) => runWake(parsed, { nc: nats.nc, json, out: (s) => out.push(s), err: (s) => out.push(s) }))
  return { code, out }
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.drain()))
})

describe("wakes", () => {
  it("wake - a keep-alive holds an idle actor awake past its passivation time, then the normal lifecycle puts it to sleep", async () => {
    await start({ passivateAfterMs: 200, idleAfterMs: 50 })
    const log = await watchLifecycleOf(nats.nc, "default", "napper")
    const kept = await request("ants.default.agent.napper.kept._Wake", { reason: "month-end close", keepAliveMinutes: 0.1 })
    expect(kept.ok).toBe(true)
    expect(kept.value.lifecycle).toMatch(/kept awake until/)
    // a control woken without a keep-alive, after the kept one: it sleeps first
    expect((await request("ants.default.agent.napper.plain._Wake", { reason: "control" })).ok).toBe(true)
    await waitUntil(() => log.last("plain") === "sleeping", { timeoutMs: 20_000, message: "the control sleeps" })
    expect(log.states("kept")).toContain("idle")
    expect(log.states("kept")).not.toContain("sleeping")
    // then the keep-alive (6 s) runs out and the kept actor sleeps like any other
    await waitUntil(() => log.last("kept") === "sleeping", { timeoutMs: 30_000, message: "the kept actor sleeps after its keep-alive" })
    log.stop()
  })

  it("wake by type - wakes an instance asleep, or a new one with `new`; the reply names it", async () => {
    const node = await start({ passivateAfterMs: 200, idleAfterMs: 50 })
    const log = await watchLifecycleOf(nats.nc, "t1", "napper")
    // tenant t1 has no napper yet: a new one
    const first = await request("ants.t1.wake.napper", { reason: "first work" })
    expect(first.ok).toBe(true)
    expect(first.value).toMatchObject({ type: "napper", created: true })
    expect(first.value.id).toMatch(/^napper-[0-9a-f]{8}$/)
    expect((await request(`ants.t1.agent.napper.${first.value.id}.Add`, { n: 7 })).value).toEqual({ n: 7, ticks: 0 })
    await waitUntil(() => log.last(first.value.id) === "sleeping", { timeoutMs: 20_000 })
    // asleep now: a wake by type restores that one, with its state
    const again = await request("ants.t1.wake.napper", { reason: "more work", keepAliveMinutes: 1 })
    expect(again.value).toMatchObject({ type: "napper", id: first.value.id, created: false })
    const states = log.states(first.value.id)
    expect(states.slice(states.indexOf("sleeping") + 1, states.indexOf("sleeping") + 3)).toEqual(["warming", "active"])
    expect((await request(`ants.t1.agent.napper.${first.value.id}.Get`, {})).value).toEqual({ n: 7, ticks: 0 })
    // `new` wakes another one even so
    const fresh = await request("ants.t1.wake.napper", { new: true })
    expect(fresh.value.created).toBe(true)
    expect(fresh.value.id).not.toBe(first.value.id)
    // a node that never saw the sleeper (restarted) finds it from its checkpoint
    await node.drain()
    await start({ passivateAfterMs: 200, idleAfterMs: 50 })
    const stored = await request("ants.t1.wake.napper", {})
    expect([first.value.id, fresh.value.id]).toContain(stored.value.id)
    expect(stored.value.created).toBe(false)
    log.stop()
  })

  it("wake - the CLI wakes by id or by type with a reason and a keep-alive; bad bodies and arguments are refused", async () => {
    await start()
    const byId = await wakeCli(["napper", "c1", "--reason", "a look", "--keep-alive", "0.5"])
    expect(byId.code).toBe(0)
    expect(byId.out.join("\n")).toMatch(/napper\/c1 is awake .*kept awake until/)
    const byType = await wakeCli(["napper", "--new", "--json"])
    expect(byType.code).toBe(0)
    expect(JSON.parse(byType.out[0]!).value.created).toBe(true)
    expect((await wakeCli(["napper", "c1", "--new"])).code).toBe(2)
    expect((await wakeCli(["napper", "c1", "--keep-alive", "soon"])).code).toBe(2)
    const bad = await request("ants.default.agent.napper.c2._Wake", { keepAliveMinutes: -1 })
    expect(bad).toMatchObject({ ok: false, error: { code: "invalid_message" } })
    expect(bad.error.message).toMatch(/keepAliveMinutes must be a number of minutes/)
    const worse = await request("ants.default.wake.napper", { when: "now" })
    expect(worse).toMatchObject({ ok: false, error: { code: "invalid_message" } })
  })
})
