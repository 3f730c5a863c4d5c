/**
 * What importing the runtime loads. Every process that imports it pays for each module it
 * reaches (a node, the CLI, a client program, each benchmark child), so the packages only some
 * of them use are loaded when first used (`import()`), not at start: the MCP SDK, Hono and the
 * A2A SDK, and the OpenTelemetry SDK's provider and exporters. Effect is imported module by
 * module (`effect/Schema`), never through its index, which loads all of Effect.
 */
import { readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { REPO } from "./import-graph.ts"

/** Loaded only when first used. */
const LAZY = [/^@modelcontextprotocol\//, /^hono(\/|$)/, /^@hono\//, /^@a2a-js\//, /^@opentelemetry\/(sdk-trace-node|exporter-|resources)/, /^effect$/]

/** The specifiers a file imports for their values at load time (`import type`, type-only names and `import()` left out). */
function valueImports(file: string): Array<string> {
  const source = ts.createSourceFile(file, readFileSync(join(REPO, file), "utf8"), ts.ScriptTarget.Latest)
  const out: Array<string> = []
  for (const s of source.statements) {
    if (ts.isImportDeclaration(s)) {
      const clause = s.importClause
      if (clause?.isTypeOnly) continue
      const named = clause?.namedBindings
      const onlyTypes = clause !== undefined && clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)
      if (!onlyTypes) out.push((s.moduleSpecifier as ts.StringLiteral).text)
    } else if (ts.isExportDeclaration(s) && s.moduleSpecifier !== undefined && !s.isTypeOnly) {
      const named = s.exportClause
      if (named !== undefined && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)) continue
      out.push((s.moduleSpecifier as ts.StringLiteral).text)
    }
  }
  return out
}

/** Every package reached from `entry` through value imports, with the file that imports it. */
function packagesReached(entry: string): Map<string, string> {
  const seen = new Set<string>()
  const packages = new Map<string, string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    for (const spec of valueImports(file)) {
      if (spec.startsWith(".")) visit(relative(REPO, resolve(dirname(join(REPO, file)), spec)))
      else if (!spec.startsWith("node:") && !packages.has(spec)) packages.set(spec, file)
    }
  }
  visit(entry)
  return packages
}

describe("start-up", () => {
  it("start-up - importing the runtime or starting a node loads no package that only some processes use", () => {
    for (const entry of ["runtime/index.ts", "runtime/node/node.ts", "runtime/cli/node-command.ts"]) {
      const reached = packagesReached(entry)
      expect(reached.has("@nats-io/nats-core"), `${entry} reaches the NATS client`).toBe(true)
      const eager = [...reached].filter(([spec]) => LAZY.some((p) => p.test(spec))).map(([spec, file]) => `${file} imports ${spec}`)
      expect(eager, entry).toEqual([])
    }
  })

  it("start-up - the check sees a value import and ignores type-only ones and import()", () => {
    // gateway-app.ts is what gateway.ts loads with import(): it imports Hono for its values
    expect([...packagesReached("runtime/gateway/gateway-app.ts").keys()]).toContain("hono")
    expect([...packagesReached("runtime/gateway/gateway.ts").keys()].filter((s) => LAZY.some((p) => p.test(s)))).toEqual([])
  })
})
