/** `echo`: `Say {text}` replies `{text}`. Stateless: the smallest useful agent. */
import * as Schema from "effect/Schema"
import { defineAgent } from "../../runtime/agent/define-agent.ts"

const Text = Schema.Struct({ text: Schema.String })

export const echo = defineAgent({
  type: "echo",
  protocol: {
    Say: {
      message: Text,
      reply: Text,
      description: "Replies with the same text.",
    },
  },
  checkpoint: "never",
  handlers: {
    Say: ({ text }) => ({ text }),
  },
})
