/**
 * Bench-only agent types. They are as small as the example agents so that what is measured is
 * the runtime, not the handler. Factories take the lifecycle options a scenario needs.
 */
import * as Schema from "effect/Schema"
import { defineAgent, Empty, type AgentOptions } from "../runtime/agent/define-agent.ts"

/**
 * A count of deliveries that a sender can wait on: `reach(n)` resolves once the count is `n` (the
 * tell scenario's flow control waits so, in the event loop's poll, instead of spinning it).
 */
export class Tally {
  count = 0
  private mark = Infinity
  private wake: (() => void) | undefined

  add(): void {
    if (++this.count < this.mark) return
    const w = this.wake
    this.mark = Infinity
    this.wake = undefined
    w?.()
  }

  /** Resolves once the count reaches `n`, or after `ms`. One waiter at a time. */
  reach(n: number, ms: number): Promise<void> {
    if (this.count >= n) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.mark = Infinity
        this.wake = undefined
        resolve()
      }, ms)
      this.mark = n
      this.wake = () => {
        clearTimeout(t)
        resolve()
      }
    })
  }
}

/** Deliveries counted at the receiver, per process (the tell scenario reads it). */
export const tally = new Tally()

/** `Count {text}`: counts the delivery. Stateless, so nothing is checkpointed. */
export const benchTally = defineAgent({
  type: "bench_tally",
  protocol: {
    Count: { message: Schema.Struct({ text: Schema.String }), reply: Empty, description: "Counts one delivery." },
  },
  checkpoint: "never",
  handlers: {
    Count: () => {
      tally.add()
      return {}
    },
  },
})

const Value = Schema.Struct({ v: Schema.Number })

/** `Set {v}` / `Get`: a one-number state, checkpointed to KV (activation scenarios). */
export function accountAgent(type: string, options: AgentOptions = {}) {
  return defineAgent({
    type,
    protocol: {
      Set: { message: Value, reply: Value, description: "Stores v." },
      Get: { message: Empty, reply: Value, description: "Reads v." },
    },
    initialState: () => ({ v: 0 }),
    ...options,
    handlers: {
      Set: ({ v }, ctx) => {
        ctx.state.v = v
        return { v }
      },
      Get: (_m, ctx) => ({ v: ctx.state.v }),
    },
  })
}

/** `Touch`: activates and stays idle (memory scenario). State `{n}` is checkpointed on passivation only. */
export function idleAgent(type: string, options: AgentOptions = {}) {
  return defineAgent({
    type,
    protocol: {
      Touch: { message: Empty, reply: Empty, description: "Activates the actor." },
    },
    initialState: () => ({ n: 0 }),
    checkpoint: "on-passivate",
    ...options,
    handlers: {
      Touch: (_m, ctx) => {
        ctx.state.n++
        return {}
      },
    },
  })
}

/** `Hit`: counts hits and says which node answered (failover scenario). */
export const benchWhere = defineAgent({
  type: "bench_where",
  protocol: {
    Hit: { message: Empty, reply: Schema.Struct({ node: Schema.String, hits: Schema.Number }), description: "Counts a hit; replies with the node." },
  },
  initialState: () => ({ hits: 0 }),
  handlers: {
    Hit: (_m, ctx) => {
      ctx.state.hits++
      return { node: ctx.node, hits: ctx.state.hits }
    },
  },
})

/** `Work {ms}`: works `ms` milliseconds (swarm scenario: a forager's task). */
export const benchForager = defineAgent({
  type: "bench_forager",
  protocol: {
    Work: { message: Schema.Struct({ ms: Schema.Number }), reply: Schema.Struct({ workedMs: Schema.Number }), description: "Works ms milliseconds." },
  },
  checkpoint: "never",
  handlers: {
    Work: async ({ ms }) => {
      if (ms > 0) await new Promise((r) => setTimeout(r, ms))
      return { workedMs: ms }
    },
  },
})
