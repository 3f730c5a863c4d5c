/**
 * An outside client that floods tells, for the noisy-neighbour scenario:
 *
 *   node --import tsx bench/probes/flooder.ts <nats url> <subject> [payload bytes]
 *
 * Prints `ready`; then publishes as fast as the connection takes them (a flush every 1,000
 * messages is the only flow control) while flooding is on. `start`/`stop` on
 * `bench.flood.control` switch it (`start <subject>` floods that subject instead of the one it
 * was started with, until the next start); `bench.flood.report` answers `{sent}` (tells since start).
 */
import { connect } from "@nats-io/transport-node"
import { FLOOD_CONTROL, FLOOD_REPORT } from "./flood-control.ts"

const [url, subject, payload] = process.argv.slice(2)
const nc = await connect({ servers: url.split(","), name: "bench-flooder" })
const body = new TextEncoder().encode(JSON.stringify({ text: "f".repeat(Number(payload ?? 64)) }))
let on = false
let sent = 0
let generation = 0

const flood = async (gen: number, to: string) => {
  while (on && gen === generation) {
    for (let i = 0; i < 1_000; i++) nc.publish(to, body)
    sent += 1_000
    await nc.flush()
  }
}

nc.subscribe(FLOOD_CONTROL, {
  callback: (_e, m) => {
    const [cmd, to] = new TextDecoder().decode(m.data).split(" ")
    if (cmd === "start" && !on) {
      on = true
      sent = 0
      void flood(++generation, to || subject)
    } else if (cmd === "stop") {
      on = false
    }
    m.respond(JSON.stringify({ on, sent }))
  },
})
nc.subscribe(FLOOD_REPORT, { callback: (_e, m) => void m.respond(JSON.stringify({ sent })) })
await nc.flush()
process.stdout.write("ready\n")
