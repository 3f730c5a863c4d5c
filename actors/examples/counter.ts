/**
 * `counter`: `Add {n}` replies `{total}`, `Get` replies `{total}`, `Fail` makes the handler
 * throw (for supervision demos and tests). State is per id and checkpointed after each change.
 */
import { Schema } from "effect"
import { defineAgent, Empty } from "../../runtime/define-agent.ts"

const Total = Schema.Struct({ total: Schema.Number })

export const counter = defineAgent({
  type: "counter",
  protocol: {
    Add: { message: Schema.Struct({ n: Schema.Number }), reply: Total, description: "Adds n to the total." },
    Get: { message: Empty, reply: Total, description: "Reads the total." },
    Fail: { message: Schema.Struct({ reason: Schema.optional(Schema.String) }), reply: Empty, description: "Throws (crash test)." },
  },
  initialState: () => ({ total: 0 }),
  handlers: {
    Add: ({ n }, ctx) => {
      ctx.state.total += n
      return { total: ctx.state.total }
    },
    Get: (_m, ctx) => ({ total: ctx.state.total }),
    Fail: ({ reason }) => {
      throw new Error(reason ?? "asked to fail")
    },
  },
})
