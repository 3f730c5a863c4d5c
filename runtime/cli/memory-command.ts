/**
 * `ants memory search|stats`: the memory store from a shell. It opens the store itself: the
 * PostgreSQL of `--postgres` or `DATABASE_URL`, else the embedded database in `--data-dir`
 * (default `.ants/memory` under the working directory). When a node of this machine is serving
 * that directory, the command goes through the node's socket; otherwise it opens the files.
 * It embeds queries with the embedder a node would use (`--embeddings`, else `ANTS_EMBEDDINGS`,
 * else the offline lexical one), since vectors of another model are not comparable.
 *
 *   ants memory search <query> [--tenant T] [--kind K] [--k N] [--type T [--actor A]] [--min S] [--json]
 *   ants memory stats [--tenant T] [--json]
 * Common: --postgres URL, --data-dir DIR, --embeddings lexical|openai, --schema S.
 *
 * Exit codes: 0 ok, 1 the store refused or failed, 2 usage.
 */
import { parseArgs } from "node:util"
import { isMemoryError, openMemory, type Memory, type MemoryKind, type RecallQuery } from "../memory/mod.ts"

export interface MemoryCommandIO {
  readonly json: boolean
  readonly out: (s: string) => void
  readonly err?: (s: string) => void
}

export const MEMORY_USAGE = `usage: ants memory <command> [options]
  search <query> [--tenant T] [--kind episodic|semantic|procedural] [--k N] [--type T [--actor A]] [--min S]
  stats  [--tenant T]
options: --postgres URL (else DATABASE_URL, else the embedded database)  --data-dir DIR (default .ants/memory)
         --embeddings lexical|openai  --schema S  --json`

const OPTIONS = {
  tenant: { type: "string" },
  kind: { type: "string" },
  k: { type: "string" },
  type: { type: "string" },
  actor: { type: "string" },
  min: { type: "string" },
  postgres: { type: "string" },
  "data-dir": { type: "string" },
  embeddings: { type: "string" },
  schema: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const

/** The CLI reads as a pseudo-actor of its own; scopes widen from it. */
const CLI_ACTOR = { type: "cli", id: "cli" }

export async function memoryCommand(argv: string[], io: MemoryCommandIO): Promise<number> {
  const err = io.err ?? io.out
  const usage = (message: string) => {
    if (io.json) io.out(JSON.stringify({ ok: false, error: { code: "usage", message, details: { usage: MEMORY_USAGE } } }))
    else err(`${message}\n${MEMORY_USAGE}`)
    return 2
  }
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    return usage((e as Error).message)
  }
  const { values: v, positionals } = parsed
  const [sub, ...rest] = positionals
  if (v.help || sub === undefined) return usage(sub === undefined ? "a memory command is required" : "")
  if (sub !== "search" && sub !== "stats") return usage(`unknown memory command "${sub}"`)
  if (sub === "search" && rest.length === 0) return usage("search needs a query")
  if (v.actor !== undefined && v.type === undefined) return usage("--actor needs --type")
  const k = v.k === undefined ? 5 : Number(v.k)
  const minScore = v.min === undefined ? undefined : Number(v.min)
  if (v.embeddings !== undefined && v.embeddings !== "lexical" && v.embeddings !== "openai") return usage(`--embeddings is lexical or openai (got ${v.embeddings})`)

  let memory: Memory | undefined
  try {
    memory = await openMemory({
      postgres: v.postgres,
      dataDir: v["data-dir"],
      schema: v.schema,
      embeddings: v.embeddings as "lexical" | "openai" | undefined,
      sweepIntervalMs: 0,
    })
    const tenant = v.tenant ?? "default"
    if (sub === "stats") {
      const stats = await memory.stats(v.tenant)
      if (io.json) io.out(JSON.stringify({ ok: true, value: { ...stats, lexical: memory.embeddings.lexical } }))
      else {
        io.out(`${stats.backend} ${stats.url}  model ${stats.model}${memory.embeddings.lexical ? " (lexical, not semantic)" : ""}, ${stats.dimensions} dimensions`)
        io.out(`${stats.total} memories${v.tenant === undefined ? "" : ` in tenant ${v.tenant}`}, ${stats.expired} expired awaiting the sweep`)
        for (const g of stats.byTenant) io.out(`  ${g.tenant.padEnd(16)} ${g.kind.padEnd(11)} ${g.count}`)
      }
      return 0
    }
    const owner = { tenant, type: v.type ?? CLI_ACTOR.type, id: v.actor ?? CLI_ACTOR.id }
    const query: RecallQuery = {
      query: rest.join(" "),
      k,
      scope: v.actor !== undefined ? "actor" : v.type !== undefined ? "type" : "tenant",
      ...(v.kind === undefined ? {} : { kind: v.kind as MemoryKind }),
      ...(minScore === undefined ? {} : { minScore }),
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
    else err(`ants memory: ${message}`)
    return isMemoryError(e, "invalid_input") ? 2 : 1
  } finally {
    await memory?.close()
  }
}
