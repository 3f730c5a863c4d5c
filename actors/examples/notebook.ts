/**
 * `notebook`: remembers what it is told and finds it again by meaning, through `ctx.memory`
 * (semantic memory of this actor). `Remember {text}` replies `{id}`; `Recall {query, k}`
 * replies `{items: [{text, score}]}`, best first (k defaults to 5).
 */
import * as Schema from "effect/Schema"
import { defineAgent } from "../../runtime/agent/define-agent.ts"

export const notebook = defineAgent({
  type: "notebook",
  protocol: {
    Remember: {
      message: Schema.Struct({ text: Schema.String }),
      reply: Schema.Struct({ id: Schema.String }),
      description: "Stores the text in this notebook's memory.",
    },
    Recall: {
      message: Schema.Struct({ query: Schema.String, k: Schema.optional(Schema.Number) }),
      reply: Schema.Struct({ items: Schema.Array(Schema.Struct({ text: Schema.String, score: Schema.Number })) }),
      description: "The k remembered texts most similar to the query, best first, with their cosine similarity.",
    },
  },
  checkpoint: "never",
  handlers: {
    Remember: async ({ text }, ctx) => {
      const item = await ctx.memory.remember({ kind: "semantic", text })
      return { id: item.id }
    },
    Recall: async ({ query, k }, ctx) => {
      const items = await ctx.memory.recall({ query, k: k ?? 5 })
      return { items: items.map((m) => ({ text: m.text, score: m.score })) }
    },
  },
})
