/**
 * 100,000 actors activated on one node all passivate. A full `ants bench` once stopped at
 * "passivating: 97504/100000 sleeping": a node holding that many leases that fell silent on a
 * loaded machine (no heartbeat landed for over a second) re-checked every lease with a request
 * each, refusing every message for minutes meanwhile; the tells refused then never activated
 * their actors, and the ones already active missed nothing but could not be reached. The
 * re-check now reads what the lease stream took during the silence (leases.ts `verifyAll`).
 * Asks, not tells, activate the actors here, so a refusal is seen and asked again.
 */
import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { createMessaging } from "../../runtime/client/messaging.ts"
import { startNode } from "../../runtime/node/node.ts"
import { askEach } from "../../bench/ask-each.ts"
import { natsPerFile, type NatsServer } from "../helpers/nats.ts"

let server: NatsServer
let nc: NatsConnection
natsPerFile({}, (s, c) => ([server, nc] = [s, c]))

const N = 100_000

const dozer = defineAgent({
  type: "scale_dozer",
  protocol: { Touch: { message: Empty, reply: Empty } },
  initialState: () => ({ n: 0 }),
  checkpoint: "on-passivate",
  passivateAfterMs: 200,
  handlers: {
    Touch: (_m: unknown, ctx: { state: { n: number } }) => {
      ctx.state.n++
      return {}
    },
  },
})

describe("passivation at scale", () => {
  it(
    "passivation - 100,000 actors activated on one node all passivate",
    async () => {
      const node = await startNode({ agents: [dozer], nats: server.url, nodeId: "scale", idleAfterMs: 100, logger: () => {} })
      try {
        const client = createMessaging(nc)
        const asked = await askEach(N, (i) => client.ask({ agent: "scale_dozer", id: `d${i}` }, "Touch", {}, { timeoutMs: 20_000 }), { concurrency: 256, deadlineMs: 600_000 })
        expect(asked.missing, `${asked.missing} of ${N} actors never answered their first ask (last error: ${asked.lastError})`).toBe(0)
        // bounded: until all sleep, 90 s without one more going to sleep, or 10 minutes
        const stats = () => node.stats().types.scale_dozer
        const deadline = Date.now() + 600_000
        let last = -1
        let lastChange = Date.now()
        while (stats().sleeping < N && Date.now() < deadline && Date.now() - lastChange < 90_000) {
          const s = stats().sleeping
          if (s !== last) [last, lastChange] = [s, Date.now()]
          await new Promise((r) => setTimeout(r, 250))
        }
        const s = stats()
        expect(s.sleeping, `${N - s.sleeping} of ${N} idle actors never passivated (active ${s.active}, idle ${s.idle}, warming ${s.warming}; checkpoint failures ${s.checkpointFailures})`).toBe(N)
        expect(s.active + s.idle + s.warming).toBe(0)
        expect(s.passivations).toBe(N)
      } finally {
        await node.drain()
      }
    },
    1_500_000,
  )
})
