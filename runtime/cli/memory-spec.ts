/**
 * The declarations of memory on the command line: `ants memory search|stats`, and the store
 * options `ants node` shares with it (--postgres, --data-dir, --embeddings). Pure data, like
 * commands.ts, which lists it among the commands.
 */
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { defineCommand } from "./command-spec.ts"
import { custom, int, oneOf, text } from "./option.ts"
import { UsageError } from "./usage-error.ts"

/** The named embedders of runtime/memory (open-memory.ts): lexical is offline, openai needs a key. */
export const EMBEDDING_NAMES = ["lexical", "openai"] as const
/** Mirrors MEMORY_KINDS in runtime/memory/types.ts (test/cli checks it). */
export const MEMORY_KIND_NAMES = ["episodic", "semantic", "procedural"] as const

/** Where a memory store is: the options `ants node` and `ants memory` share. */
export const memoryStore = (what: string) => ({
  postgres: text("<url>", `PostgreSQL (with pgvector) holding ${what}; excludes --data-dir`).defaultIs("$DATABASE_URL, else the embedded database"),
  "data-dir": text("<dir>", `the embedded database (PGlite) holding ${what}`).defaultIs(".ants/memory under the working directory"),
  embeddings: oneOf(EMBEDDING_NAMES, "how texts become vectors: lexical (offline, not semantic) or openai (OPENAI_API_KEY, OPENAI_BASE_URL)").defaultIs("$ANTS_EMBEDDINGS, else lexical"),
})

/** Checks --postgres and --data-dir do not both name a store. */
export function checkMemoryStore(values: { postgres?: string; "data-dir"?: string; embeddings?: string; "no-memory"?: boolean }): void {
  if (values.postgres !== undefined && values["data-dir"] !== undefined) {
    throw new UsageError("--postgres and --data-dir exclude each other: the data directory is the embedded database's")
  }
  const given = (["postgres", "data-dir", "embeddings"] as const).filter((k) => values[k] !== undefined)
  if (values["no-memory"] === true && given.length > 0) throw new UsageError(`--no-memory and --${given[0]} exclude each other: a node without memory has no store`)
}

/** A similarity score: a number from -1 to 1. */
function parseScore(raw: string, f: string): number {
  const n = Number(raw)
  if (raw.trim() === "" || !Number.isFinite(n) || n < -1 || n > 1) throw new UsageError(`${f} must be a number from -1 to 1, got "${raw}"`)
  return n
}

export const MEMORY = defineCommand({
  name: "memory",
  summary: "search the memory store by meaning, or count what it holds",
  subcommands: {
    search: { args: "<query...>", min: 1, max: Number.POSITIVE_INFINITY, summary: "the entries of a tenant closest in meaning to the query, best first (--type and --actor narrow it)" },
    stats: { args: "", min: 0, max: 0, summary: "entries per tenant and kind, expired ones awaiting the sweep, and the embedder" },
  },
  options: {
    tenant: text("<tenant>", "the tenant").defaultIs(`search: ${DEFAULT_TENANT}; stats: every tenant`),
    kind: oneOf(MEMORY_KIND_NAMES, "only this kind of memory").defaultIs("every kind").onlyFor("search"),
    k: int("<n>", "at most this many entries").withDefault(5).onlyFor("search"),
    type: text("<type>", "only memories of this agent type").defaultIs("the whole tenant").onlyFor("search"),
    actor: text("<id>", "only memories of this actor (needs --type)").onlyFor("search"),
    min: custom("<score>", "only entries at least this similar (-1..1)", parseScore).onlyFor("search"),
    ...memoryStore("the memories"),
    schema: text("<schema>", "the schema holding the store's tables").defaultIs("ants_memory"),
  },
  notes: [
    "The command opens the store itself, with the embedder a node would use (vectors of another model are not comparable). When a node of this machine serves the --data-dir, it goes through that node.",
    "Exit 1 when the store refused or failed (with --json: {\"ok\":false,\"error\":{code,message}}).",
  ],
  examples: [`npx ants memory search "what does alice drink" --tenant acme --k 3`, "npx ants memory stats --json"],
  connects: false,
})
