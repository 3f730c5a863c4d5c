/**
 * The checkpoint writes of the state store (runtime/actor/state-store.ts) against a real
 * server: fenced by the revision the writer last saw, and a first write takes a key whose last
 * message is a delete or purge marker (as nats.js's `kv.create` did), but never a live one.
 */
import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { Kvm } from "@nats-io/kv"
import { openStateStore } from "../../runtime/actor/state-store.ts"
import { STATE_BUCKET, stateKey } from "../../subjects/kv.ts"
import { natsPerFile } from "../helpers/nats.ts"

let nc: NatsConnection
natsPerFile({}, (_s, c) => (nc = c))

const tagOf = (e: unknown) => (e as { _tag?: string })?._tag

describe("state store writes", () => {
  it("checkpoints - fenced by revision; a first write takes a deleted or purged key, never a live one", async () => {
    const store = await openStateStore(nc, { nodeId: "sw" })
    const kv = await new Kvm(nc).open(STATE_BUCKET)
    const a = { tenant: "default", type: "writes", id: "w1" }
    const r1 = await store.save(a, `{"n":1}`, 0)
    // a second first write, or a write at a stale revision, is fenced
    expect(tagOf(await store.save(a, `{"n":9}`, 0).catch((e) => e))).toBe("StateFencedError")
    const r2 = await store.save(a, `{"n":2}`, r1)
    expect(tagOf(await store.save(a, `{"n":9}`, r1).catch((e) => e))).toBe("StateFencedError")
    // deleted: the key is free for a first write, at the marker's revision
    await kv.delete(stateKey(a))
    const r3 = await store.save(a, `{"n":3}`, 0)
    expect(r3).toBeGreaterThan(r2)
    expect((await store.current(a)).revision).toBe(r3)
    // purged: the same
    await kv.purge(stateKey(a))
    const r4 = await store.save(a, `{"n":4}`, 0)
    expect((await store.current(a)).revision).toBe(r4)
    expect(tagOf(await store.save(a, `{"n":9}`, 0).catch((e) => e))).toBe("StateFencedError")
  }, 30_000)
})
