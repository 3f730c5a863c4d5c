/**
 * `ants memory search|stats` (declared in commands.ts as MEMORY): the memory store from a shell.
 * It opens the store itself: the PostgreSQL of `--postgres` or `DATABASE_URL`, else the embedded
 * database in `--data-dir` (default `.ants/memory` under the working directory), going through
 * the socket of a node of this machine when one serves that directory. Queries are embedded with
 * the embedder a node would use (`--embeddings`, else `ANTS_EMBEDDINGS`, else the offline
 * lexical one), since vectors of another model are not comparable.
 *
 * Exit codes: 0 ok, 1 the store refused or failed, 2 usage.
 */
import { isMemoryError, openMemory, type Memory, type RecallQuery } from "../memory/mod.ts"
import type { Parsed } from "./command-spec.ts"
import { checkMemoryStore, type MEMORY } from "./commands.ts"
import type { Io } from "./io.ts"
import { UsageError } from "./usage-error.ts"

/** The CLI reads as a pseudo-actor of its own; scopes widen from it. */
const CLI_ACTOR = { type: "cli", id: "cli" }

/** Checks what the declaration cannot say alone, before the store is opened. */
export function checkMemory(parsed: Parsed<(typeof MEMORY)["options"]>): void {
  checkMemoryStore(parsed.values)
  if (parsed.values.actor !== undefined && parsed.values.type === undefined) throw new UsageError("--actor needs --type: an actor id is unique within its type")
}

export async function runMemory(parsed: Parsed<(typeof MEMORY)["options"]>, io: Io & { readonly json: boolean }): Promise<number> {
  const v = parsed.values
  let memory: Memory | undefined
  try {
    memory = await openMemory({ postgres: v.postgres, dataDir: v["data-dir"], schema: v.schema, embeddings: v.embeddings, sweepIntervalMs: 0 })
    if (parsed.subcommand === "stats") {
      const stats = await memory.stats(v.tenant)
      if (io.json) io.out(JSON.stringify({ ok: true, value: { ...stats, lexical: memory.embeddings.lexical } }))
      else {
        io.out(`${stats.backend} ${stats.url}  model ${stats.model}${memory.embeddings.lexical ? " (lexical, not semantic)" : ""}, ${stats.dimensions} dimensions`)
        io.out(`${stats.total} memories${v.tenant === undefined ? "" : ` in tenant ${v.tenant}`}, ${stats.expired} expired awaiting the sweep`)
        for (const g of stats.byTenant) io.out(`  ${g.tenant.padEnd(16)} ${g.kind.padEnd(11)} ${g.count}`)
      }
      return 0
    }
    const tenant = v.tenant ?? "default"
    const owner = { tenant, type: v.type ?? CLI_ACTOR.type, id: v.actor ?? CLI_ACTOR.id }
    const query: RecallQuery = {
      query: parsed.args.join(" "),
      k: v.k,
      scope: v.actor !== undefined ? "actor" : v.type !== undefined ? "type" : "tenant",
      ...(v.kind === undefined ? {} : { kind: v.kind }),
      ...(v.min === undefined ? {} : { minScore: v.min }),
    }
    const items = await memory.recall(owner, query)
    if (io.json) io.out(JSON.stringify({ ok: true, value: { items } }))
    else if (items.length === 0) io.out(`no memories in tenant ${tenant} match`)
    else {
      for (const m of items) {
        const rate = m.successRate === null ? "" : `  success ${(m.successRate * 100).toFixed(0)}% of ${m.uses}`
        io.out(`${m.score.toFixed(3)}  ${m.kind.padEnd(10)} ${m.type}/${m.actor}  ${m.text.replace(/\s+/g, " ").slice(0, 100)}${rate}`)
      }
    }
    return 0
  } catch (e) {
    const code = isMemoryError(e) ? e.code : "unavailable"
    const message = e instanceof Error ? e.message : String(e)
    if (io.json) io.out(JSON.stringify({ ok: false, error: { code, message } }))
    else io.err(`ants memory: ${message}`)
    return isMemoryError(e, "invalid_input") ? 2 : 1
  } finally {
    await memory?.close()
  }
}
