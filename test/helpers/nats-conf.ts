/** The project's nats.conf with its commented `authorization` example (tenant users) switched on. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PROJECT_NATS_CONF } from "../../runtime/server/nats-server.ts"

/** Writes the uncommented config to a temporary file and returns its path. */
export function confWithTenants(): string {
  const lines = readFileSync(PROJECT_NATS_CONF, "utf8").split("\n")
  const start = lines.findIndex((l) => l.startsWith("# authorization {"))
  if (start <= 0) throw new Error(`nats.conf has no commented "# authorization {" example (${PROJECT_NATS_CONF})`)
  let depth = 0
  for (let i = start; i < lines.length; i++) {
    const l = lines[i].replace(/^# ?/, "")
    lines[i] = l
    depth += (l.match(/[{[]/g) ?? []).length - (l.match(/[}\]]/g) ?? []).length
    if (depth === 0) break
  }
  const file = join(mkdtempSync(join(tmpdir(), "ants-conf-")), "nats.conf")
  writeFileSync(file, lines.join("\n"))
  return file
}
