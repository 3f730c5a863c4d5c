/**
 * What a node hands on when an activation finds its actor active on another node (the cluster's
 * lease refusal forwards what was queued there, runtime/actor/local-actors.ts `takeQueued`): an ask
 * the node held longer than the bound is answered `unavailable` and counted rejected, not passed
 * on to be applied long after its caller gave up (the partition suite's split saw two such asks
 * applied 12 s late, after a store outage); a fresh ask and a tell are passed on and counted
 * forwarded. A real TypeHost, cell and NATS requests; the node around the host is only what the
 * mailbox and the answers touch.
 */
import { describe, expect, it } from "vitest"
import type { Msg, NatsConnection } from "@nats-io/nats-core"
import { defineAgent, Empty, type AgentDefinition } from "../../runtime/agent/define-agent.ts"
import { ActorCell } from "../../runtime/actor/cell.ts"
import { TypeHost, type HostNode } from "../../runtime/actor/type-host.ts"
import { localActors } from "../../runtime/actor/local-actors.ts"
import type { Envelope } from "../../runtime/actor/mailbox.ts"
import { openStateStore } from "../../runtime/actor/state-store.ts"
import { requestReply } from "../../runtime/server/reply-inbox.ts"
import { decodeReply } from "../../subjects/envelope.ts"
import { natsPerFile, rawConnect } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let nc: NatsConnection
let url: string
natsPerFile({}, (s, c) => ([url, nc] = [s.url, c]))

const enc = new TextEncoder()

describe("takeQueued (a lease refusal hands on what was queued)", () => {
  it("an ask held past the bound is answered unavailable and counted rejected; a fresh ask and a tell are handed on and counted forwarded", async () => {
    const agent: AgentDefinition<any, any> = defineAgent({
      type: "held",
      protocol: { Poke: { message: Empty, reply: Empty } },
      initialState: () => ({}),
      handlers: { Poke: () => ({}) },
    })
    const forwarded: unknown[] = []
    const rejected: Array<[unknown, string]> = []
    const node = {
      id: "holder-test",
      nc,
      store: await openStateStore(nc, { nodeId: "holder-test" }),
      log: () => undefined,
      settled: () => undefined,
      transitioned: () => undefined,
      budget: { bytes: 0, max: 1 << 26 },
      ledger: { forwarded: (t: unknown) => void forwarded.push(t), rejected: (t: unknown, code: string) => void rejected.push([t, code]) },
      limits: { maxBodyBytes: 1 << 20, maxDepth: 64, maxKeys: 10_000, mailboxBytes: 1 << 24, handlerTimeoutMs: 30_000, maxPayload: 1 << 20 },
    } as unknown as HostNode
    const host = new TypeHost(agent, node, 1000, 60_000)
    // an activation still waiting for its lease: what arrives is queued, nothing runs
    const cell = new ActorCell(host, "acme", "h1", "acme.h1")
    cell.status = "warming"
    host.cells.set(cell.key, cell)

    // three real messages as the node received them: two asks (with reply subjects) and a tell
    const received: Msg[] = []
    const sub = nc.subscribe("held.queue", { callback: (_e, m) => void received.push(m) })
    await nc.flush()
    const caller = await rawConnect(url)
    try {
      const stale = requestReply(caller, "held.queue", enc.encode("{}"), 10_000)
      const fresh = requestReply(caller, "held.queue", enc.encode("{}"), 2_000).catch((e: Error) => e)
      caller.publish("held.queue", enc.encode("{}"))
      await caller.flush()
      await waitUntil(() => received.length === 3, { timeoutMs: 5_000, message: "three messages" })
      const now = performance.now()
      const env = (msg: Msg, at: number | undefined, ticket: string): Envelope => ({ tag: "Poke", message: {}, msg, reply: msg.reply ?? "", at, ticket: ticket as never, bytes: 2 })
      const queued = [env(received[0]!, now - 6_000, "stale"), env(received[1]!, now, "fresh"), env(received[2]!, undefined, "tell")]
      for (const e of queued) expect(cell.enqueue(e)).toBe(true)

      const handedOn = localActors(new Map([["held", host]]), () => undefined).takeQueued(cell, 5_000)
      expect(handedOn.map((e) => e.ticket)).toEqual(["fresh", "tell"])
      expect(forwarded).toEqual(["fresh", "tell"])
      expect(rejected).toEqual([["stale", "unavailable"]])
      // the stale ask's caller is told it was not delivered
      const answer = decodeReply((await stale).data)
      expect(answer.ok).toBe(false)
      if (!answer.ok) {
        expect(answer.error.code).toBe("unavailable")
        expect(answer.error.message).toMatch(/held\/h1: held \d+ ms on node holder-test while its lease was in question, then found active elsewhere; not delivered, retry/)
      }
      // nothing is left queued, and without a bound everything is handed on
      expect(localActors(new Map([["held", host]]), () => undefined).takeQueued(cell)).toEqual([])
      expect(cell.enqueue(env(received[0]!, now - 60_000, "old"))).toBe(true)
      expect(localActors(new Map([["held", host]]), () => undefined).takeQueued(cell).map((e) => e.ticket)).toEqual(["old"])
      await fresh
    } finally {
      sub.unsubscribe()
      await caller.close()
    }
  })
})
