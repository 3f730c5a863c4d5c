/**
 * One passivation at a time per actor, at the type host (TypeHost.passivate): the lifecycle sweep
 * and the pool keeper both passivate idle actors, and a second passivation started while the
 * first was still writing its checkpoint ran `onPassivate` and the checkpoint twice. The host here
 * is a real TypeHost on a real server's state bucket; the node around it is only what
 * passivation touches.
 */
import { describe, expect, it } from "vitest"
import type { NatsConnection } from "@nats-io/nats-core"
import { defineAgent, Empty, type AgentDefinition } from "../../runtime/agent/define-agent.ts"
import { ActorCell } from "../../runtime/actor/cell.ts"
import { TypeHost, type HostNode } from "../../runtime/actor/type-host.ts"
import { openStateStore, type StateStore } from "../../runtime/actor/state-store.ts"
import { natsPerFile } from "../helpers/nats.ts"

let nc: NatsConnection
natsPerFile({}, (_s, c) => (nc = c))

function gate() {
  let open!: () => void
  const opened = new Promise<void>((r) => (open = r))
  return { open, opened }
}

async function hostWith(onPassivate: () => Promise<void>): Promise<{ host: TypeHost; store: StateStore; transitions: string[] }> {
  const agent: AgentDefinition<any, any> = defineAgent({
    type: "dozer",
    protocol: { Touch: { message: Empty, reply: Empty } },
    initialState: () => ({ n: 0 }),
    checkpoint: "on-passivate",
    handlers: { Touch: () => ({}) },
    onPassivate,
  })
  const store = await openStateStore(nc, { nodeId: "host-test" })
  const transitions: string[] = []
  const node = {
    id: "host-test",
    nc,
    store,
    log: () => undefined,
    settled: () => undefined,
    limits: { maxBodyBytes: 1 << 20, maxDepth: 64, maxKeys: 10_000, mailboxBytes: 1 << 24, handlerTimeoutMs: 30_000, maxPayload: 1 << 20 },
    transitioned: (a: { id: string }, from: string, to: string) => void transitions.push(`${a.id} ${from}>${to}`),
  } as unknown as HostNode
  return { host: new TypeHost(agent, node, 1000, 60_000), store, transitions }
}

/** An idle actor of `host` with `state`, as the lifecycle sweep finds it. */
function idleCell(host: TypeHost, id: string, state: unknown): ActorCell {
  const cell = new ActorCell(host, "acme", id, `acme.${id}`)
  cell.state = state
  cell.status = "idle"
  host.cells.set(cell.key, cell)
  return cell
}

describe("TypeHost.passivate", () => {
  it("runs one passivation of an actor at a time: a second call while the first writes gets the first's outcome", async () => {
    const g = gate()
    let calls = 0
    const { host, store, transitions } = await hostWith(async () => {
      calls++
      await g.opened
    })
    const cell = idleCell(host, "d1", { n: 7 })
    const first = host.passivate(cell)
    const second = host.passivate(cell)
    expect(second).toBe(first)
    expect(host.passivating(cell)).toBe(true)
    g.open()
    await Promise.all([first, second])
    expect(calls).toBe(1)
    expect(host.passivating(cell)).toBe(false)
    expect(host.stats.passivations).toBe(1)
    expect(host.cells.has(cell.key)).toBe(false)
    expect(host.sleeping.has(cell.key)).toBe(true)
    expect(transitions).toEqual(["d1 idle>sleeping"])
    // one checkpoint, with the state it had
    const cp = await store.load(cell)
    expect(cp?.state).toEqual({ n: 7 })
    // a later call on the stopped cell does nothing
    await host.passivate(cell)
    expect(calls).toBe(1)
    expect(host.stats.passivations).toBe(1)
  })

  it("lets a passivation start again once the one before settled without sending the actor to sleep", async () => {
    let calls = 0
    const { host } = await hostWith(async () => {
      calls++
    })
    const cell = idleCell(host, "d2", { n: 1 })
    // a message came in: the first passivation finds it busy at its end and leaves it active
    cell.status = "active"
    await host.passivate(cell)
    expect(host.passivating(cell)).toBe(false)
    expect(host.cells.has(cell.key)).toBe(true)
    cell.status = "idle"
    await host.passivate(cell)
    expect(calls).toBe(1)
    expect(host.sleeping.has(cell.key)).toBe(true)
  })
})
