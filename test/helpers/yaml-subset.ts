/**
 * A strict parser of the block-style YAML subset that configuration files such as Prometheus
 * rule files are written in: block mappings and sequences by indentation, full-line comments,
 * plain, single- and double-quoted scalars. Anything outside that subset (tabs, flow
 * collections, anchors, block scalars, inline comments, duplicate keys, stray indentation) is
 * an error naming the line, so a file it accepts is valid YAML with the structure it returns.
 * There is no YAML library among the project's dependencies; this is for tests only.
 */
type Value = string | number | boolean | null | Value[] | { [k: string]: Value }

interface Line {
  readonly n: number
  readonly indent: number
  readonly text: string
}

function fail(l: Line | undefined, why: string): never {
  throw new Error(`YAML line ${l?.n ?? "end"}: ${why}${l ? `: ${l.text}` : ""}`)
}

function scalar(raw: string, l: Line): Value {
  const s = raw.trim()
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) fail(l, "unterminated double-quoted string")
    return JSON.parse(s) as string
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) fail(l, "unterminated single-quoted string")
    const inner = s.slice(1, -1)
    if (/'(?!')/.test(inner.replace(/''/g, ""))) fail(l, "a lone ' inside a single-quoted string")
    return inner.replace(/''/g, "'")
  }
  if (/^[[{&*!|>%@`]/.test(s)) fail(l, "outside the supported subset (flow collection, anchor, tag, block scalar or reserved indicator)")
  if (/\s#/.test(s)) fail(l, "inline comments are outside the supported subset")
  if (/:\s|:$/.test(s)) fail(l, "a plain scalar cannot contain ': '")
  if (s === "" || s === "~" || s === "null") return null
  if (s === "true" || s === "false") return s === "true"
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s)
  return s
}

function keyAndRest(l: Line): [string, string] {
  const m = /^([A-Za-z_][A-Za-z0-9_.-]*):(?:\s+(.*))?$/.exec(l.text)
  if (m === null) fail(l, "expected `key: value` or `key:`")
  return [m[1]!, m[2] ?? ""]
}

function block(lines: Line[], i: number, indent: number): [Value, number] {
  const first = lines[i]
  if (first === undefined || first.indent !== indent) fail(first, `expected a block indented ${indent}`)
  if (first.text === "-" || first.text.startsWith("- ")) {
    const out: Value[] = []
    while (i < lines.length && lines[i]!.indent === indent && (lines[i]!.text === "-" || lines[i]!.text.startsWith("- "))) {
      const l = lines[i]!
      const content = l.text.slice(1).trimStart()
      if (content === "") {
        const [v, next] = block(lines, i + 1, lines[i + 1]?.indent ?? -1)
        if ((lines[i + 1]?.indent ?? -1) <= indent) fail(l, "an empty item must be followed by a deeper block")
        out.push(v)
        i = next
      } else if (/^[A-Za-z_][A-Za-z0-9_.-]*:(\s|$)/.test(content)) {
        // `- key: value`: a mapping whose first key sits two columns in
        const inner = indent + (l.text.length - content.length)
        lines[i] = { n: l.n, indent: inner, text: content }
        const [v, next] = block(lines, i, inner)
        out.push(v)
        i = next
      } else {
        out.push(scalar(content, l))
        i++
      }
    }
    if (i < lines.length && lines[i]!.indent > indent) fail(lines[i], "unexpected indentation")
    return [out, i]
  }
  const out: { [k: string]: Value } = {}
  while (i < lines.length && lines[i]!.indent === indent) {
    const l = lines[i]!
    if (l.text.startsWith("- ")) fail(l, "a sequence item where a mapping key was expected")
    const [key, rest] = keyAndRest(l)
    if (key in out) fail(l, `duplicate key "${key}"`)
    if (rest.trim() === "") {
      const next = lines[i + 1]
      if (next === undefined || next.indent <= indent) {
        out[key] = null
        i++
        continue
      }
      const [v, after] = block(lines, i + 1, next.indent)
      out[key] = v
      i = after
    } else {
      out[key] = scalar(rest, l)
      i++
    }
  }
  if (i < lines.length && lines[i]!.indent > indent) fail(lines[i], "unexpected indentation")
  return [out, i]
}

export function parseYamlSubset(text: string): Value {
  const lines: Line[] = []
  text.split("\n").forEach((raw, k) => {
    if (raw.includes("\t")) fail({ n: k + 1, indent: 0, text: raw }, "tabs are not allowed in YAML indentation")
    const t = raw.trimEnd()
    if (t.trim() === "" || t.trimStart().startsWith("#")) return
    if (t === "---") return
    lines.push({ n: k + 1, indent: t.length - t.trimStart().length, text: t.trimStart() })
  })
  if (lines.length === 0) return null
  const [v, i] = block(lines, 0, lines[0]!.indent)
  if (i < lines.length) fail(lines[i], "unexpected line after the document")
  return v
}
