/**
 * Step 8 of `ants demo`: memory. A `notebook` actor remembers four notes and finds one again by
 * meaning through `ctx.memory`, stored in the embedded PostgreSQL (PGlite with pgvector, in a
 * data directory of the demo's own) with the offline lexical embedder, unless `DATABASE_URL`
 * names a PostgreSQL. Every figure printed is read back: the recalled note, its score, and the
 * store's own count of what it holds.
 */
import { notebook } from "../../actors/examples/notebook.ts"
import type { AntsNode } from "../node/node.ts"

export interface MemorySummary {
  readonly backend: string
  readonly recalled: string
  readonly score: number
  readonly stored: number
  readonly correct: boolean
}

const NOTES = [
  "the invoices queue is drained every night at two",
  "forager f3 is the only one able to do orders and search",
  "counter totals are checkpointed after every change",
  "the danger trail at billing refunds lives for one second",
]

export async function memoryStep(node: AntsNode, say: (s: string) => void): Promise<MemorySummary> {
  const run = node.id.replace(/^node-/, "")
  const ref = node.client.ref(notebook, `notes-${run}`)
  say(`\n8. memory: notebook notes-${run} remembers ${NOTES.length} notes, then recalls one by meaning`)
  // the first call opens the store (the embedded database starts on demand)
  for (const text of NOTES) await ref.ask("Remember", { text }, { timeoutMs: 60_000 })
  const query = "when is the invoice queue drained?"
  const { items } = await ref.ask("Recall", { query, k: 2 }, { timeoutMs: 30_000 })
  const best = items[0]
  const store = node.memory.current
  const stats = store ? await store.stats("default") : undefined
  const stored = stats?.byTenant.filter((r) => r.kind === "semantic").reduce((n, r) => n + r.count, 0) ?? 0
  const backend = stats ? `${stats.backend === "pglite" ? "embedded PGlite" : "PostgreSQL"} + pgvector, ${stats.model} embeddings (${stats.dimensions} dimensions)` : "unknown"
  say(`  store: ${backend}`)
  say(`  Recall "${query}" -> "${best?.text ?? "nothing"}" (cosine similarity ${best ? best.score.toFixed(2) : "-"})`)
  say(`  semantic memories of tenant default in the store: ${stored}`)
  const correct = best?.text === NOTES[0] && stored >= NOTES.length
  if (!correct) say("  the memory step did NOT go as expected (see above)")
  return { backend, recalled: best?.text ?? "", score: best?.score ?? 0, stored, correct }
}
