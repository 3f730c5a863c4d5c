/**
 * Sleeping actors written straight into the state bucket: for each id `<prefix>0..<prefix>n-1`
 * the checkpoint a node writes when an actor passivates (`acct.sleptAt` set), 4,096 writes in
 * flight on a connection of its own, closed after. Used by the scale probe (scale-probe.ts) for
 * a few hundred in its own process and, through sleeper-seeder.ts, for the million in a process of
 * their own, so that the node measured does not share its event loop with a million writes.
 */
import { jetstream } from "@nats-io/jetstream"
import { STATE_BUCKET, stateKey } from "../../subjects/kv.ts"
import { kvSubject } from "../../subjects/jetstream.ts"
import { rawConnection } from "../support.ts"

export interface SleeperSeed {
  readonly tenant: string
  readonly type: string
  readonly prefix: string
  readonly n: number
}

/** Writes the checkpoints; `progress(done)` at most every 500 ms. Resolves with the milliseconds it took. */
export async function seedSleeping(url: string, seed: SleeperSeed, progress: (done: number) => void = () => undefined): Promise<number> {
  const nc = await rawConnection(url, "bench-scale-seeder")
  try {
    const js = jetstream(nc, { timeout: 60_000 })
    const sleptAt = Date.now()
    const body = new TextEncoder().encode(
      `{"v":1,"state":{"n":1},"at":"${new Date(sleptAt).toISOString()}","node":"bench-scale-seeder","acct":{"activations":1,"activeMs":1,"sleepingMs":0,"restarts":0,"sleptAt":${sleptAt}}}`,
    )
    const t0 = Date.now()
    let next = 0
    let done = 0
    let lastSay = 0
    const worker = async () => {
      while (next < seed.n) {
        const i = next++
        await js.publish(kvSubject(STATE_BUCKET, stateKey({ tenant: seed.tenant, type: seed.type, id: `${seed.prefix}${i}` })), body)
        done++
        if (Date.now() - lastSay > 500) {
          lastSay = Date.now()
          progress(done)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(4096, seed.n) }, worker))
    return Date.now() - t0
  } finally {
    await nc.close()
  }
}
