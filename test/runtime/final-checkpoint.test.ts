/**
 * A drain whose actors cannot store their last checkpoint (the state bucket is gone, as when an
 * operator deletes it) gives up after a bounded number of tries, spaced by the runtime's
 * backoff, with a clear error saying what was not kept, and the node stops instead of retrying
 * for as long as the hand-over lasts.
 */
import { describe, expect, it } from "vitest"
import { Kvm } from "@nats-io/kv"
import type { NatsConnection } from "@nats-io/nats-core"
import { counter } from "../../actors/examples/index.ts"
import { FINAL_CHECKPOINT } from "../../runtime/actor/final-checkpoint.ts"
import { startNode } from "../../runtime/node/node.ts"
import { STATE_BUCKET } from "../../subjects/kv.ts"
import { natsPerFile, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

let server: NatsServer
let nc: NatsConnection

natsPerFile({}, (s, c) => ([server, nc] = [s, c]))

describe("final checkpoint", () => {
  it("drain - a checkpoint that cannot be stored gives up after a bounded number of tries with a clear error, and the node stops", async () => {
    const logs: Array<{ level: string; message: string }> = []
    const node = await startNode({ agents: [counter], nats: server.url, shutdownTimeoutMs: 2_000, logger: (level, message) => void logs.push({ level, message }) })
    const ref = node.client.ref(counter, "c1")
    expect(await ref.ask("Add", { n: 1 })).toEqual({ total: 1 })
    await waitUntil(() => node.stats().types.counter.checkpoints >= 1, { message: "the first checkpoint stored" })
    // the state bucket disappears: every write fails from now on (not fenced)
    await (await new Kvm(nc).open(STATE_BUCKET)).destroy()
    expect(await ref.ask("Add", { n: 2 })).toEqual({ total: 3 })
    await waitUntil(() => node.stats().types.counter.checkpointFailures >= 1, { message: "the write after the bucket went failed" })
    const failuresBefore = node.stats().types.counter.checkpointFailures
    await node.drain()
    const gaveUp = logs.filter((l) => /could not be stored after 4 tries/.test(l.message))
    expect(gaveUp).toHaveLength(1)
    expect(gaveUp[0].level).toBe("error")
    expect(gaveUp[0].message).toMatch(/counter\/c1.*restores revision 1, and changes answered but not stored since then are lost/)
    // exactly the bounded tries were made during the drain (the background recovery only reads)
    expect(node.stats().types.counter.checkpointFailures - failuresBefore).toBe(FINAL_CHECKPOINT.tries)
  })
})
