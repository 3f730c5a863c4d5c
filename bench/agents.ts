/**
 * Bench-only agent types. They are as small as the example agents so that what is measured is
 * the runtime, not the handler. Factories take the lifecycle options a scenario needs.
 */
import { Schema } from "effect"
import { defineAgent, Empty, type AgentOptions } from "../runtime/agent/define-agent.ts"

/** Deliveries counted at the receiver, per process (the tell scenario reads it). */
export const tally = { count: 0 }

/** `Count {text}`: counts the delivery. Stateless, so nothing is checkpointed. */
export const benchTally = defineAgent({
  type: "bench_tally",
  protocol: {
    Count: { message: Schema.Struct({ text: Schema.String }), reply: Empty, description: "Counts one delivery." },
  },
  checkpoint: "never",
  handlers: {
    Count: () => {
      tally.count++
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
