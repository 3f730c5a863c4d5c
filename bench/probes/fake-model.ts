/**
 * A fake Chat Completions server in its own process, so that a scenario's node does not share
 * its event loop with the model it waits on (a real model is elsewhere too):
 *
 *   node --import tsx bench/probes/fake-model.ts <latency ms>
 *
 * Prints `ready <base url>`, then `count <n>` whenever the number of requests received has
 * changed (at most every 20 ms). A request whose last message is `hello` is answered at once
 * (warm-up turns); every other one after the latency.
 */
import { startFakeOpenAI } from "../fakes/fake-openai.ts"

const latencyMs = Number(process.argv[2] ?? 1000)
const server = await startFakeOpenAI((req) => {
  const messages = (req.body.messages ?? []) as Array<{ content?: unknown }>
  return messages.at(-1)?.content === "hello" ? { text: "warm" } : { text: "done thinking", usage: { input: 50, output: 5 }, delayMs: latencyMs }
})
process.stdout.write(`ready ${server.url}/v1\n`)
let said = 0
setInterval(() => {
  const n = server.count()
  if (n !== said) process.stdout.write(`count ${(said = n)}\n`)
}, 20)
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)))
