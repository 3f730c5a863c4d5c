/**
 * `ants auth init`: writes the principals of a deployment (runtime nodes, the operator's CLI,
 * each tenant) and the server configuration that knows them (runtime/security/auth-init.ts).
 */
import { resolve } from "node:path"
import { parseArgs } from "node:util"
import { authInit } from "../security/auth-init.ts"

export const AUTH_USAGE =
  "ants auth init --tenants acme,globex --out <dir> [--routes host:6222,host:6222,host:6222] [--force] [--json]\n" +
  "  Writes <dir>/auth.conf (nkey users and their permissions), <dir>/nats.conf (a complete single server),\n" +
  "  <dir>/routes.conf (cluster route credentials), and the seeds node.nk, operator.nk, tenants/<t>.nk (0600).\n" +
  "  The shipped nats.conf includes auth/auth.conf: run it with --out auth next to nats.conf."

interface Io {
  readonly json: boolean
  out(s: string): void
  err(s: string): void
}

export async function authCommand(argv: string[], io: Io): Promise<number> {
  const [verb, ...rest] = argv
  if (verb !== "init") {
    io.err(`ants auth: unknown sub-command "${verb ?? ""}"\nusage: ${AUTH_USAGE}`)
    return 2
  }
  let values
  try {
    ;({ values } = parseArgs({ args: rest, options: { tenants: { type: "string" }, out: { type: "string" }, routes: { type: "string" }, force: { type: "boolean" } }, strict: true }))
  } catch (e) {
    io.err(`ants auth: ${(e as Error).message}\nusage: ${AUTH_USAGE}`)
    return 2
  }
  const split = (v: string | undefined) => (v ?? "").split(",").map((s) => s.trim()).filter(Boolean)
  if (!values.out || !values.tenants) {
    io.err(`ants auth: --tenants and --out are required\nusage: ${AUTH_USAGE}`)
    return 2
  }
  const routes = split(values.routes)
  try {
    const r = authInit({ out: resolve(values.out), tenants: split(values.tenants), ...(routes.length > 0 ? { routes } : {}), force: values.force === true })
    if (io.json) {
      io.out(JSON.stringify({ out: r.out, principals: r.principals, files: r.files }))
      return 0
    }
    io.out(`wrote ${r.files.length} files to ${r.out} (seeds 0600, folder 0700):`)
    for (const p of r.principals) io.out(`  ${p.name.padEnd(20)} ${p.kind.padEnd(8)} ${p.seedFile}  ${p.publicKey}`)
    io.out("next:")
    io.out(`  nats-server -c ${values.out}/nats.conf -sd <store>     (or the shipped nats.conf, with --out auth next to it)`)
    io.out(`  npx ants node --nats nats://127.0.0.1:4222 --nkey ${values.out}/node.nk --auth-dir ${values.out} --agents <module>`)
    io.out(`  NATS_NKEY=${values.out}/operator.nk npx ants nodes`)
    io.out(`  tenant clients: their own seed (${values.out}/tenants/<tenant>.nk) and inbox prefix _INBOX_<tenant>`)
    return 0
  } catch (e) {
    io.err(`ants auth: ${(e as Error).message}`)
    return 2
  }
}
