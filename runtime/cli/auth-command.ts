/**
 * `ants auth init` (declared in commands.ts as AUTH): writes the principals of a deployment
 * (runtime nodes, the operator's CLI, each tenant) and the server configuration that knows them
 * (runtime/security/auth-init.ts).
 */
import { resolve } from "node:path"
import { authInit } from "../security/auth-init.ts"
import type { Parsed } from "./command-spec.ts"
import type { AUTH } from "./commands.ts"
import type { Io } from "./io.ts"
import { UsageError } from "./usage-error.ts"

export async function runAuth(parsed: Parsed<(typeof AUTH)["options"]>, io: Io & { readonly json: boolean }): Promise<number> {
  const { values } = parsed
  const out = values.out
  let r
  try {
    r = authInit({ out: resolve(out), tenants: values.tenants, ...(values.routes?.length ? { routes: values.routes } : {}), force: values.force })
  } catch (e) {
    // an existing deployment's keys (without --force) or a bad tenant name: call it differently
    throw new UsageError((e as Error).message)
  }
  if (io.json) {
    io.out(JSON.stringify({ out: r.out, principals: r.principals, files: r.files }))
    return 0
  }
  io.out(`wrote ${r.files.length} files to ${r.out} (seeds 0600, folder 0700):`)
  for (const p of r.principals) io.out(`  ${p.name.padEnd(20)} ${p.kind.padEnd(8)} ${p.seedFile}  ${p.publicKey}`)
  io.out("next:")
  io.out(`  nats-server -c ${out}/nats.conf -sd <store>     (or the shipped nats.conf, with --out auth next to it)`)
  io.out(`  npx ants node --nats nats://127.0.0.1:4222 --nkey ${out}/node.nk --auth-dir ${out} --agents <module>`)
  io.out(`  NATS_NKEY=${out}/operator.nk npx ants nodes`)
  io.out(`  tenant clients: their own seed (${out}/tenants/<tenant>.nk) and inbox prefix _INBOX_<tenant>`)
  return 0
}
