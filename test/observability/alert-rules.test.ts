/**
 * The example Prometheus alerting rules (ops/prometheus/ants-alerts.yml): valid YAML in the
 * shape Prometheus loads (groups of rules with alert, expr, for, labels, annotations), the
 * alerts the README promises, and only metrics a node actually exposes.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { createNodeMetrics } from "../../runtime/observability/mod.ts"
import { REPO } from "../layout/import-graph.ts"
import { parseYamlSubset } from "../helpers/yaml-subset.ts"

const FILE = join(REPO, "ops/prometheus/ants-alerts.yml")

interface Rule {
  alert: string
  expr: string
  for: string
  labels: Record<string, string>
  annotations: Record<string, string>
}

/** The metric names a node registers (sources that answer nothing: only the names matter here). */
function exposedNames(): Set<string> {
  const m = createNodeMetrics(
    {
      nodeId: "n",
      messages: () => ({}),
      rejectedEvents: () => 0,
      types: () => ({}),
      mailboxDepth: () => ({}),
      queuedBytes: () => ({ bytes: 0, max: 1 }),
      cluster: () => ({ members: 1, partitions: 64 }),
      tasks: async () => ({ queued: {}, deadLetters: {} }),
    },
    { processMetrics: false },
  )
  return new Set(m.registry.getMetricsAsArray().map((x) => x.name))
}

describe("alert rules", () => {
  it("yaml subset - the parser refuses what it does not understand (so accepting the file means something)", () => {
    expect(parseYamlSubset("a:\n  b: 1\n  c:\n    - x: 'y'\n      z: \"w\"\n")).toEqual({ a: { b: 1, c: [{ x: "y", z: "w" }] } })
    expect(() => parseYamlSubset("a: 1\na: 2\n")).toThrow(/duplicate key/)
    expect(() => parseYamlSubset("a:\n\tb: 1\n")).toThrow(/tabs/)
    expect(() => parseYamlSubset("a: [1, 2]\n")).toThrow(/subset/)
    expect(() => parseYamlSubset("a: 1\n   b: 2\n")).toThrow(/indentation|expected/)
    expect(() => parseYamlSubset('a: "open\n')).toThrow(/unterminated/)
  })

  it("alert rules - the example file is valid YAML with Prometheus rule fields, the promised alerts, and only metrics a node exposes", () => {
    const doc = parseYamlSubset(readFileSync(FILE, "utf8")) as unknown as { groups: Array<{ name: string; rules: Rule[] }> }
    expect(Array.isArray(doc.groups) && doc.groups.length).toBeGreaterThan(0)
    const rules = doc.groups.flatMap((g) => {
      expect(g.name).toMatch(/\S/)
      return g.rules
    })
    const names = rules.map((r) => r.alert)
    expect(new Set(names).size).toBe(names.length)
    for (const promised of ["AntsNodeLost", "AntsDeadLettersGrowing", "AntsRestartStorm"]) expect(names).toContain(promised)
    const exposed = exposedNames()
    for (const r of rules) {
      expect(Object.keys(r).sort(), r.alert).toEqual(["alert", "annotations", "expr", "for", "labels"])
      expect(r.alert).toMatch(/^Ants[A-Z][A-Za-z]+$/)
      expect(typeof r.expr === "string" && r.expr.length > 5, r.alert).toBe(true)
      expect(r.for, r.alert).toMatch(/^\d+[smhd]$/)
      expect(["warning", "critical"], r.alert).toContain(r.labels.severity)
      expect(typeof r.annotations.summary === "string" && typeof r.annotations.description === "string", r.alert).toBe(true)
      // parentheses balance, and every ants_ metric it reads is one a node registers
      expect([...r.expr].reduce((d, c) => (d < 0 ? d : d + (c === "(" ? 1 : c === ")" ? -1 : 0)), 0), r.alert).toBe(0)
      for (const m of r.expr.matchAll(/\bants_[a-z_]+/g)) expect(exposed, `${r.alert} reads ${m[0]}`).toContain(m[0].replace(/_(bucket|sum|count)$/, ""))
    }
  })
})
