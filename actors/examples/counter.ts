/**
 * `counter`: `Add {n}` replies `{total}`, `Get` replies `{total}`, `Fail` makes the handler
 * throw (for supervision demos and tests). State is per id and checkpointed after each change.
 * Numbers are finite (JSON's `1e309` parses as Infinity, which JSON cannot carry back), and an
 * `Add` that would overflow the total fails instead of storing Infinity.
 */
import * as Schema from "effect/Schema"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"

/** A finite number, inline in the JSON Schema (Schema.Finite would become a `$ref`). */
const Finite = Schema.Number.pipe(Schema.finite())
const Total = Schema.Struct({ total: Finite })

export const counter = defineAgent({
  type: "counter",
  protocol: {
    Add: { message: Schema.Struct({ n: Finite }), reply: Total, description: "Adds n to the total." },
    Get: { message: Empty, reply: Total, description: "Reads the total." },
    Fail: { message: Schema.Struct({ reason: Schema.optional(Schema.String) }), reply: Empty, description: "Throws (crash test)." },
  },
  initialState: () => ({ total: 0 }),
  handlers: {
    Add: ({ n }, ctx) => {
      const total = ctx.state.total + n
      if (!Number.isFinite(total)) throw new Error(`adding ${n} to ${ctx.state.total} overflows the total; it stays ${ctx.state.total}`)
      ctx.state.total = total
      return { total }
    },
    Get: (_m, ctx) => ({ total: ctx.state.total }),
    Fail: ({ reason }) => {
      throw new Error(reason ?? "asked to fail")
    },
  },
})
