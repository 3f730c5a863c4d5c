/**
 * A parser of the Prometheus text exposition format (0.0.4) for tests: every sample line as
 * name, labels and value, with `# TYPE` lines checked to come before their samples. Throws on
 * a line that is neither a comment nor a well-formed sample, so "parses as Prometheus text" is
 * a real check.
 */
export interface PromSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y

function parseLabels(s: string, line: string): Record<string, string> {
  const out: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < s.length) {
    const m = LABEL.exec(s)
    if (m === null) throw new Error(`bad labels in: ${line}`)
    out[m[1]!] = m[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\")
  }
  return out
}

export function parsePrometheusText(text: string): { samples: PromSample[]; types: Map<string, string> } {
  const samples: PromSample[] = []
  const types = new Map<string, string>()
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(/\s+/)
      if (!name || !type || !["counter", "gauge", "histogram", "summary", "untyped"].includes(type)) throw new Error(`bad TYPE line: ${line}`)
      types.set(name, type)
      continue
    }
    if (line.startsWith("#")) continue
    const m = SAMPLE.exec(line)
    if (m === null) throw new Error(`not a Prometheus sample line: ${line}`)
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan")
    const v = m[3]!.toLowerCase()
    const value = v === "+inf" || v === "inf" ? Infinity : v === "-inf" ? -Infinity : v === "nan" ? NaN : Number(m[3])
    if (Number.isNaN(value) && v !== "nan") throw new Error(`bad value in: ${line}`)
    const name = m[1]!
    const family = name.replace(/_(bucket|sum|count)$/, "")
    if (!types.has(name) && !types.has(family)) throw new Error(`sample before its TYPE line: ${line}`)
    samples.push({ name, labels: parseLabels(m[2] ?? "", line), value })
  }
  return { samples, types }
}

/** The sum of the samples of `name` whose labels include `match`. */
export function sampleValue(samples: ReadonlyArray<PromSample>, name: string, match: Readonly<Record<string, string>> = {}): number {
  let sum = 0
  for (const s of samples) if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value
  return sum
}
