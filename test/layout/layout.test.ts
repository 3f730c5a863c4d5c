/**
 * The shape of the code, checked: no import cycle anywhere in the sources, no file under
 * runtime/ longer than MAX_LINES, each runtime layer a folder with a `mod.ts` that lists its
 * names (no `export *`) under a header saying what it promises and what it may import, and no
 * layer importing one it is not allowed to.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { REPO, importCycles, importGraph, lineCount, sourceFiles } from "./import-graph.ts"

/**
 * 400 lines is the house limit for one concept; 420 leaves room for a header comment and the
 * imports a file gains when a neighbour is split, without letting a second concept in.
 */
const MAX_LINES = 420

/**
 * What each layer may import (besides itself), lowest first; this is the table the `mod.ts`
 * headers state. `subjects` and `supervisors` are pure code and always allowed.
 */
const ALLOWED: Record<string, ReadonlyArray<string>> = {
  limits: [],
  cpu: [],
  observability: ["limits"],
  sandbox: ["limits", "observability"],
  security: ["limits"],
  server: ["security"],
  memory: ["observability"],
  models: ["observability"],
  stigmergy: ["server", "observability"],
  agent: ["stigmergy", "memory", "models", "limits", "cpu", "observability", "sandbox"],
  client: ["agent", "security", "server", "observability"],
  tools: ["sandbox", "models", "agent", "client", "security", "server", "limits", "observability"],
  tasks: ["agent", "client", "server", "stigmergy", "limits", "observability"],
  governance: ["agent", "client", "server", "security", "stigmergy", "tasks", "models", "tools", "limits", "observability"],
  coordination: ["agent", "client", "server", "stigmergy", "tasks", "models", "governance", "limits", "observability"],
  actor: ["agent", "client", "stigmergy", "memory", "models", "limits", "cpu", "observability", "sandbox", "tools", "governance"],
  cluster: ["agent", "client", "server", "security", "observability", "limits"],
  elastic: ["actor", "agent", "client", "cluster", "server", "security", "stigmergy", "tasks", "models", "limits", "observability"],
  gateway: ["agent", "client", "security", "server", "tasks", "models", "stigmergy", "cluster", "governance", "tools", "observability", "limits"],
  node: ["actor", "agent", "client", "cluster", "security", "server", "stigmergy", "tasks", "memory", "models", "limits", "cpu", "observability", "sandbox", "tools", "governance", "coordination", "elastic", "gateway"],
  cli: ["actor", "agent", "client", "cluster", "node", "security", "server", "stigmergy", "tasks", "memory", "models", "actors", "limits", "cpu", "observability", "sandbox", "tools", "governance", "coordination", "elastic", "gateway"],
}

const SOURCES = sourceFiles(["runtime", "subjects", "supervisors", "actors"])

function layerOf(file: string): string {
  const parts = file.split("/")
  if (parts[0] === "runtime") return parts.length > 2 ? parts[1]! : "runtime"
  return parts[0]!
}

describe("layout", () => {
  it("import graph - no cycle among the source files (type-only imports included)", () => {
    expect(SOURCES.length).toBeGreaterThan(50)
    expect(importCycles(importGraph(SOURCES))).toEqual([])
  })

  it("import graph - finds a cycle when there is one", () => {
    // the check itself, on a graph with a loop three files long and a self-import
    const graph = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["d"]], ["e", ["a"]]])
    expect(importCycles(graph)).toEqual([["a", "b", "c"], ["d"]])
  })

  it(`runtime - no source file is longer than ${MAX_LINES} lines`, () => {
    const runtime = SOURCES.filter((f) => f.startsWith("runtime/"))
    const long = runtime.filter((f) => lineCount(f) > MAX_LINES).map((f) => `${f}: ${lineCount(f)}`)
    expect(long).toEqual([])
  })

  it("layers - each runtime folder has a mod.ts listing its names under a header with its promise and its imports", () => {
    // a layer of the table whose folder is not written yet is skipped (the table is ahead of the tree)
    const layers = Object.keys(ALLOWED).filter((layer) => existsSync(join(REPO, "runtime", layer)))
    for (const layer of layers) {
      const mod = join(REPO, "runtime", layer, "mod.ts")
      expect(existsSync(mod), `runtime/${layer}/mod.ts`).toBe(true)
      const text = readFileSync(mod, "utf8")
      expect(text.startsWith("/**"), `runtime/${layer}/mod.ts starts with its header`).toBe(true)
      expect(text, `runtime/${layer}/mod.ts says what it promises`).toMatch(/Promises:/)
      expect(text, `runtime/${layer}/mod.ts says what it may import`).toMatch(/May import:/)
      expect(text, `runtime/${layer}/mod.ts lists its names`).not.toMatch(/export \*/)
    }
    const folders = new Set(SOURCES.filter((f) => f.startsWith("runtime/") && f.split("/").length > 2).map(layerOf))
    expect([...folders].filter((f) => !layers.includes(f))).toEqual([])
  })

  it("layers - a layer imports only the layers its header allows", () => {
    const graph = importGraph(SOURCES)
    const wrong: Array<string> = []
    for (const [file, deps] of graph) {
      const from = layerOf(file)
      const allowed = ALLOWED[from]
      for (const dep of deps) {
        const to = layerOf(dep)
        if (to === from || to === "subjects") continue
        if (from === "subjects") wrong.push(`${file} -> ${dep} (subjects is the wire contract: it imports nothing else)`)
        else if (from === "supervisors" || from === "actors") {
          if (to === "runtime" || (from === "supervisors" && to !== "subjects") || (from === "actors" && !["agent", "stigmergy", "supervisors"].includes(to))) wrong.push(`${file} -> ${dep}`)
        } else if (allowed !== undefined && to !== "supervisors" && !allowed.includes(to)) wrong.push(`${file} -> ${dep}`)
      }
    }
    expect(wrong).toEqual([])
  })
})
