/**
 * The README matches the public API: every name `runtime/index.ts` exports is documented (in
 * backticks), and every constructor-like name the README shows (`create…`, `start…`,
 * `connect…`, `define…`, `watch…All…`) is exported by the package's entry points.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { REPO } from "./import-graph.ts"

/** Names a module exports (`export { a, b as c }`, `export type {…}`, `export function/const/class`). */
function exportedNames(file: string): Set<string> {
  const source = ts.createSourceFile(file, readFileSync(join(REPO, file), "utf8"), ts.ScriptTarget.ES2022, true)
  const names = new Set<string>()
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const el of statement.exportClause.elements) names.add(el.name.text)
    } else if (ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      const name = (statement as { name?: ts.Identifier }).name
      if (name !== undefined) names.add(name.text)
      if (ts.isVariableStatement(statement)) for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text)
    }
  }
  return names
}

const readme = readFileSync(join(REPO, "README.md"), "utf8")
const documented = new Set([...readme.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)(?:[(<.][^`]*)?`/g)].map((m) => m[1]!))

describe("readme api", () => {
  it("readme - documents every name runtime/index.ts exports", () => {
    const missing = [...exportedNames("runtime/index.ts")].filter((n) => !documented.has(n)).sort()
    expect(missing).toEqual([])
  })

  it("readme - every constructor-like name it shows is exported", () => {
    const exported = new Set([
      ...exportedNames("runtime/index.ts"),
      ...exportedNames("subjects/mod.ts"),
      ...exportedNames("supervisors/mod.ts"),
      ...exportedNames("actors/examples/index.ts"),
    ])
    const shown = [...documented].filter((n) => /^(create|start|connect|define)[A-Z]|^watch\w*All/.test(n))
    expect(shown.filter((n) => !exported.has(n)).sort()).toEqual([])
  })
})
