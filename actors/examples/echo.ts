/** `echo`: `Say {text}` replies `{text}`. Stateless: the smallest useful agent. */
import { Schema } from "effect"
import { defineAgent } from "../../runtime/agent/define-agent.ts"

export const echo = defineAgent({
  type: "echo",
  protocol: {
    Say: {
      message: Schema.Struct({ text: Schema.String }),
      reply: Schema.Struct({ text: Schema.String }),
      description: "Replies with the same text.",
    },
  },
  checkpoint: "never",
  handlers: {
    Say: ({ text }) => ({ text }),
  },
})
