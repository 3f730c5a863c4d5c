/**
 * Child of the scale probe: writes sleeping actors' checkpoints (seed-sleeping.ts) in a process
 * of its own.
 *
 *   node --import tsx bench/probes/sleeper-seeder.ts <nats-url> <tenant> <type> <prefix> <n>
 *
 * Prints `written <count>` as it goes and last `result {"ms":…}`. Exits when its parent is gone
 * (a probe killed by its scenario's timeout), which would otherwise leave it reconnecting for ever.
 */
import { seedSleeping } from "./seed-sleeping.ts"

const [url, tenant, type, prefix, n] = process.argv.slice(2)
const say = (s: string) => process.stdout.write(s + "\n")
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(1)
}, 1_000).unref()
try {
  const ms = await seedSleeping(url!, { tenant: tenant!, type: type!, prefix: prefix!, n: Number(n) }, (done) => say(`written ${done}`))
  say(`result ${JSON.stringify({ ms })}`)
  process.exit(0)
} catch (e) {
  process.stderr.write(`sleeper-seeder: ${(e as Error).message}\n`)
  process.exit(1)
}
