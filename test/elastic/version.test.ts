/**
 * Versioned agent types against a real nats-server: state written by an older version is
 * migrated on activation (and stored at once), checked by the type's stateSchema; a node never
 * runs older code on newer state (it refuses, and the state stays as it was) unless it declares
 * downgrades; a rollback is a newer version with a migration back, or the older version with
 * downgrades; a rolling upgrade and a rolling rollback of two nodes under a stream of asks fail
 * none, the newer version serves every actor while both run, and every actor ends on the
 * version rolled to.
 */
import { afterEach, describe, expect, it } from "vitest"
import { Kvm } from "@nats-io/kv"
import { AgentDefinitionError, defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { newestReadable, oldestMigratable, typeVersion } from "../../runtime/agent/versioning.ts"
import { listNodes } from "../../runtime/cluster/inspect-client.ts"
import { versionLines } from "../../runtime/cli/cluster-commands.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import type { AgentDefinition } from "../../runtime/agent/define-agent.ts"
import { STATE_BUCKET, stateKey } from "../../subjects/kv.ts"
import { natsPerFile } from "../helpers/nats.ts"
import { settleNodes } from "../helpers/settle-nodes.ts"
import { waitUntil } from "../helpers/wait-until.ts"
import { ledgerV1, ledgerV1RolledBack, ledgerV2, ledgerV3, ledgerV4Rollback } from "./fixtures/versioned-agent.ts"

const nats = natsPerFile()
const enc = new TextEncoder()
const dec = new TextDecoder()
const started: AntsNode[] = []
const quiet = () => {}

async function start(nodeId: string, agents: AgentDefinition<any, any>[]): Promise<AntsNode> {
  const n = await startNode({ agents, nats: nats.server.url, nodeId, logger: process.env.DBG ? (l, m) => console.log(nodeId, l, m) : quiet, models: false, memory: false })
  started.push(n)
  return n
}

async function ask(subject: string, timeout = 10_000): Promise<any> {
  const r = await nats.nc.request(subject, enc.encode("{}"), { timeout })
  return JSON.parse(dec.decode(r.data))
}

async function stored(id: string): Promise<any> {
  const kv = await new Kvm(nats.nc).open(STATE_BUCKET)
  const e = await kv.get(stateKey({ tenant: "default", type: "ledger", id }))
  return e ? JSON.parse(dec.decode(e.value)) : undefined
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.drain()))
})

describe("versioned agent types", () => {
  it("defineAgent - a version and its migrations are checked when the type is defined", () => {
    const base = { type: "t", protocol: { Get: { message: Empty } }, handlers: { Get: () => undefined } }
    expect(() => defineAgent({ ...base, version: 0 })).toThrow(AgentDefinitionError)
    expect(() => defineAgent({ ...base, version: 2.5 })).toThrow(/positive integer/)
    expect(() => defineAgent({ ...base, version: 2, migrations: { 2: (s: unknown) => s } })).toThrow(/starts from an older version, 1 to 1/)
    expect(() => defineAgent({ ...base, version: 4, migrations: { 1: (s: unknown) => s, 3: (s: unknown) => s } })).toThrow(/migrations\[2\] is missing/)
    expect(oldestMigratable(defineAgent({ ...base, version: 4, migrations: { 2: (s: unknown) => s, 3: (s: unknown) => s } }))).toBe(2)
    expect(oldestMigratable(defineAgent(base))).toBe(1)
  })

  it("migration - state of version 1 is migrated to version 3 on activation, Schema-checked and stored at once", async () => {
    const a = await start("mig-a", [ledgerV1])
    for (let i = 0; i < 4; i++) await ask("ants.default.agent.ledger.m1.Hit")
    await a.drain()
    expect(await stored("m1")).toMatchObject({ state: { count: 4 } })
    expect((await stored("m1")).tv).toBeUndefined()

    const b = await start("mig-b", [ledgerV3()])
    const r = await ask("ants.default.agent.ledger.m1.Get")
    expect(r).toEqual({ ok: true, value: { node: "mig-b", version: 3, hits: 4 } })
    // stored before the first message ran, though Get changed nothing
    expect(await stored("m1")).toMatchObject({ tv: 3, state: { hits: 4, since: 2 } })
    expect((await ask("ants.default.agent.ledger.m1.Hit")).value.hits).toBe(5)
    await b.drain()
  })

  it("migration - a step that breaks the stateSchema or throws refuses the activation and leaves the stored state alone", async () => {
    const a = await start("bad-a", [ledgerV2])
    await ask("ants.default.agent.ledger.m2.Hit")
    await a.drain()
    const before = await stored("m2")

    const b = await start("bad-b", [ledgerV3((s) => ({ hits: String(s.hits) }))])
    const r = await ask("ants.default.agent.ledger.m2.Get")
    expect(r.ok).toBe(false)
    expect(r.error.code).toBe("unavailable")
    expect(r.error.message).toMatch(/does not fit the stateSchema of "ledger"/)
    await b.drain()

    const c = await start("bad-c", [ledgerV3(() => {
      throw new Error("no since for you")
    })])
    const t = await ask("ants.default.agent.ledger.m2.Get")
    expect(t.error.message).toMatch(/migration of type "ledger" from version 2 to 3 threw: no since for you/)
    await c.drain()
    expect(await stored("m2")).toEqual(before)
  })

  it("refusal - a node running an older version never activates newer state: unavailable, with what to do, state untouched", async () => {
    const a = await start("new-a", [ledgerV2])
    await ask("ants.default.agent.ledger.m3.Hit")
    await ask("ants.default.agent.ledger.m3.Hit")
    await a.drain()
    const before = await stored("m3")
    expect(before).toMatchObject({ tv: 2, state: { hits: 2 } })

    const old = await start("old-b", [ledgerV1])
    const r = await ask("ants.default.agent.ledger.m3.Hit")
    expect(r.ok).toBe(false)
    expect(r.error.code).toBe("unavailable")
    expect(r.error.message).toMatch(/written by version 2 of its type; node old-b runs version 1/)
    expect(r.error.message).toMatch(/Finish the upgrade/)
    await old.drain()
    expect(await stored("m3")).toEqual(before)
  })

  it("rollback - a rollback is released as a newer version with a migration back: version 3 state serves version 2 behaviour as version 4", async () => {
    const a = await start("rb-a", [ledgerV3()])
    for (let i = 0; i < 3; i++) await ask("ants.default.agent.ledger.m4.Hit")
    await a.drain()
    expect(await stored("m4")).toMatchObject({ tv: 3, state: { hits: 3, since: 3 } })

    const b = await start("rb-b", [ledgerV4Rollback])
    expect(await ask("ants.default.agent.ledger.m4.Hit")).toEqual({ ok: true, value: { node: "rb-b", version: 4, hits: 4 } })
    expect(await stored("m4")).toMatchObject({ tv: 4, state: { hits: 4 } })
    expect((await stored("m4")).state.since).toBeUndefined()
    await b.drain()
  })

  it("rolling upgrade - two nodes restarted one by one with version 2 under a stream of asks: no ask fails, version 2 serves every actor once it runs, every actor ends migrated", async () => {
    const seen = await rolling("ru", ledgerV1, ledgerV2, {
      sideBySide: /ledger: v2 on ru-a; v1 on ru-b \(2 versions side by side: a rolling upgrade is under way; v2 serves every ledger\)/,
    })
    for (const [id, s] of seen) {
      // once served by version 2, never again by version 1; and while both ran, only version 2 served
      const firstV2 = s.findIndex((x) => x.version === 2)
      expect(firstV2).toBeGreaterThan(0)
      expect(s.slice(firstV2).every((x) => x.version === 2)).toBe(true)
      expect(s.filter((x) => x.phase === "side by side").every((x) => x.version === 2 && x.node === "ru-a")).toBe(true)
      expect(await stored(id)).toMatchObject({ tv: 2, state: { hits: s.length } })
    }
  })

  it("rolling rollback - two nodes on version 2 restarted one by one with version 1 and its downgrade from 2: no ask fails, every actor ends stored at version 1", async () => {
    const seen = await rolling("rr", ledgerV2, ledgerV1RolledBack, {
      // the older version serves nothing while the newer one runs; then it reads version 2 state brought down
      sideBySide: /ledger: v2 on rr-b; v1 on rr-a \(2 versions side by side: a rolling upgrade is under way; v2 serves every ledger\)/,
    })
    for (const [id, s] of seen) {
      expect(s.filter((x) => x.phase === "side by side").every((x) => x.version === 2 && x.node === "rr-b")).toBe(true)
      const firstV1 = s.findIndex((x) => x.version === 1)
      expect(firstV1).toBeGreaterThan(0)
      expect(s.slice(firstV1).every((x) => x.version === 1)).toBe(true)
      const after = await stored(id)
      expect(after.tv).toBeUndefined()
      expect(after.state).toEqual({ count: s.length })
    }
  })

  it("defineAgent - downgrades start from newer versions and have no hole", () => {
    const base = { type: "t", protocol: { Get: { message: Empty } }, handlers: { Get: () => undefined } }
    expect(() => defineAgent({ ...base, version: 2, downgrades: { 2: (s: unknown) => s } })).toThrow(/downgrade starts from a newer version than 2/)
    expect(() => defineAgent({ ...base, downgrades: { 3: (s: unknown) => s } })).toThrow(/downgrades\[2\] is missing/)
    expect(newestReadable(defineAgent({ ...base, downgrades: { 2: (s: unknown) => s, 3: (s: unknown) => s } }))).toBe(3)
    expect(newestReadable(defineAgent(base))).toBe(1)
  })
})

type Served = { node: string; version: number; hits: number; phase: string }

/**
 * Nodes `<p>-a` and `<p>-b` run `from`; each is drained and restarted with `to` in turn while ten
 * actors are asked without pause. Every step waits for events (nodes settled, three more answers
 * per actor), never for time. Returns every answer per actor, with the phase it came in.
 */
async function rolling(p: string, from: AgentDefinition<any, any>, to: AgentDefinition<any, any>, expected: { sideBySide: RegExp }): Promise<Map<string, Served[]>> {
  let a = await start(`${p}-a`, [from])
  let b = await start(`${p}-b`, [from])
  await settleNodes([a, b])
  const ids = Array.from({ length: 10 }, (_, i) => `${p}${i}`)
  const seen = new Map<string, Served[]>(ids.map((id) => [id, []]))
  const failures: string[] = []
  let phase = "before"
  let stop = false
  const worker = async (id: string) => {
    while (!stop) {
      const asked = phase
      try {
        const r = await ask(`ants.default.agent.ledger.${id}.Hit`, 60_000)
        if (!r.ok) failures.push(`${id}: ${r.error.code} ${r.error.message}`)
        // an answer counts for a phase only when asked and answered within it
        else seen.get(id)!.push({ ...r.value, phase: asked === phase ? asked : "between" })
      } catch (e) {
        failures.push(`${id}: ${(e as Error).message}`)
      }
    }
  }
  const running = ids.map(worker)
  const more = async (n: number) => {
    const base = new Map(ids.map((id) => [id, seen.get(id)!.length]))
    await waitUntil(() => failures.length > 0 || ids.every((id) => seen.get(id)!.length >= base.get(id)! + n), { timeoutMs: 60_000, message: `${n} more hits each` })
  }
  const versionsSay = async (re: RegExp) => {
    let last = ""
    await waitUntil(async () => re.test((last = versionLines(await listNodes(nats.nc, { timeoutMs: 2000 })).join("\n"))), { timeoutMs: 30_000, message: `ants nodes says ${re} (last: ${last})` })
  }
  try {
    await more(3)
    // node a first: drained (its actors hand over to b), restarted with the other version
    phase = "draining a"
    await a.drain()
    a = await start(`${p}-a`, [to])
    await settleNodes([a, b], 15_000, false)
    await versionsSay(expected.sideBySide)
    // the node on the older version has handed every actor it ran over (or took none)
    const older = typeVersion(to) > typeVersion(from) ? b : a
    await waitUntil(() => {
      const t = older.cluster.info().types.ledger
      return t !== undefined && t.active + t.idle + t.warming === 0
    }, { timeoutMs: 30_000, message: `${older.id}, on the older version, runs no ledger` })
    phase = "side by side"
    await more(3)
    // then node b
    phase = "draining b"
    await b.drain()
    b = await start(`${p}-b`, [to])
    await settleNodes([a, b])
    phase = "after"
    await more(3)
  } finally {
    stop = true
    await Promise.all(running)
  }
  expect(failures).toEqual([])
  for (const id of ids) {
    const s = seen.get(id)!
    // no hit lost or counted twice across the versions: 1, 2, 3, ...
    expect(s.map((x) => x.hits)).toEqual(s.map((_, i) => i + 1))
  }
  const v = typeVersion(to)
  await versionsSay(new RegExp(`ledger: v${v} on ${p}-a, ${p}-b$`, "m"))
  return seen
}
