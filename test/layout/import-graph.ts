/**
 * The project's import graph, read with the TypeScript compiler's own pre-processor (it sees
 * `import`, `export … from`, `import type` and `import()` alike: a type-only loop is still a loop
 * a reader has to untangle). Used by the layout tests; no file outside the repository is read.
 */
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import ts from "typescript"

export const REPO = resolve(new URL("../..", import.meta.url).pathname)

/** Source files (tests and benches aside) under the given folders, repo-relative. */
export function sourceFiles(roots: ReadonlyArray<string>): Array<string> {
  const out: Array<string> = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === "node_modules" || name.startsWith(".")) continue
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (/\.(m?ts|m?js)$/.test(name) && !name.endsWith(".d.ts") && !name.includes(".test.")) out.push(relative(REPO, path))
    }
  }
  for (const root of roots) if (existsSync(join(REPO, root))) walk(join(REPO, root))
  return out.sort()
}

/** file → the files it imports (relative specifiers only; packages are not ours to untangle). */
export function importGraph(files: ReadonlyArray<string>): Map<string, Array<string>> {
  const known = new Set(files)
  const graph = new Map<string, Array<string>>()
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(join(REPO, file), "utf8"), true, true)
    const deps: Array<string> = []
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith(".")) continue
      const target = relative(REPO, resolve(dirname(join(REPO, file)), ref.fileName))
      const hit = [target, target.replace(/\.js$/, ".ts"), `${target}.ts`, join(target, "mod.ts"), join(target, "index.ts")].find((c) => known.has(c))
      if (hit !== undefined && !deps.includes(hit)) deps.push(hit)
    }
    graph.set(file, deps)
  }
  return graph
}

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
export function importCycles(graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<Array<string>> {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const cycles: Array<Array<string>> = []
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next)
    next++
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return cycles
}

export function lineCount(file: string): number {
  const text = readFileSync(join(REPO, file), "utf8")
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0)
}
