/**
 * The memory flags of `ants node`: where the node keeps what its agents remember. Without
 * `--postgres` (or `DATABASE_URL`) the node uses the embedded database in `--data-dir`.
 */
import type { MemoryOptions } from "../memory/mod.ts"
import { CliError } from "./cli-error.ts"

export const MEMORY_NODE_OPTIONS = {
  postgres: { type: "string" },
  "data-dir": { type: "string" },
  embeddings: { type: "string" },
} as const

export const MEMORY_NODE_USAGE = "[--postgres url | --data-dir dir] [--embeddings lexical|openai]"

export function nodeMemoryOptions(values: { postgres?: string; "data-dir"?: string; embeddings?: string }): MemoryOptions {
  const { postgres, embeddings } = values
  if (embeddings !== undefined && embeddings !== "lexical" && embeddings !== "openai") throw new CliError(`--embeddings is lexical or openai, got "${embeddings}"`)
  if (postgres !== undefined && values["data-dir"] !== undefined) throw new CliError("--postgres and --data-dir exclude each other: the data directory is the embedded database's")
  return { postgres, dataDir: values["data-dir"], embeddings }
}
