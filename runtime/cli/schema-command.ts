/**
 * `ants schema <type> --agents <module>` (declared in commands.ts as SCHEMA): the JSON Schemas
 * of a type's messages and replies, for clients written in other languages. Each schema is
 * self-contained (its own `$defs`); the message schema is what a body sent to
 * ants.<tenant>.agent.<type>.<id>.<Tag> must fit, the reply schema what `value` of the ok
 * envelope holds.
 */
import type { Parsed } from "./command-spec.ts"
import type { SCHEMA } from "./gateway-spec.ts"
import { typeSchemas } from "../gateway/type-repository.ts"
import { CliError } from "./client-connection.ts"
import type { Io } from "./io.ts"
import { loadAgents } from "./load-agents.ts"

export async function runSchema(parsed: Parsed<(typeof SCHEMA)["options"]>, io: Io & { readonly json: boolean }): Promise<number> {
  const [type] = parsed.args
  const agents = (await Promise.all(parsed.values.agents.map(loadAgents))).flat()
  const def = agents.find((a) => a.type === type)
  if (!def) throw new CliError(`no agent type "${type}" in ${parsed.values.agents.join(", ")} (it exports: ${agents.map((a) => a.type).join(", ")})`)
  let out = typeSchemas(def) as { type: string; tags: Record<string, unknown> }
  const tag = parsed.values.tag
  if (tag !== undefined) {
    if (!(tag in out.tags)) throw new CliError(`agent type "${type}" has no tag "${tag}" (its tags: ${Object.keys(out.tags).join(", ")})`)
    out = { type: out.type, tags: { [tag]: out.tags[tag] } }
  }
  io.out(io.json ? JSON.stringify(out) : JSON.stringify(out, null, 2))
  return 0
}
