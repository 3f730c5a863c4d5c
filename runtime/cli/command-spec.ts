/**
 * One declaration per command: its summary, its sub-commands or arguments, its options (types,
 * defaults, descriptions) and examples. `--help`, parsing and validation all read the same
 * declaration, so the help shows exactly what the parser accepts, and every value is checked
 * (a UsageError saying what is expected) before anything connects anywhere.
 *
 * Parsing is `node:util` parseArgs underneath; this module turns its errors into messages that
 * name the valid choices and point at `npx ants <command> --help`.
 */
import { parseArgs } from "node:util"
import { flag, type AnyOpt, type OptionTable, type Values } from "./option.ts"
import { UsageError } from "./usage-error.ts"

/** What follows a command (or one of its sub-commands) on the command line. */
export interface Form {
  /** How the arguments read in the usage line: `<capability> ['<json payload>']`. */
  readonly args: string
  /** Bounds on the positional arguments. */
  readonly min: number
  readonly max: number
  readonly summary: string
  readonly aliases?: ReadonlyArray<string>
}

export interface CommandDeclaration<O extends OptionTable> {
  readonly name: string
  readonly summary: string
  /** Arguments of a command without sub-commands. */
  readonly args?: Form
  /** Sub-commands by name (the first argument). */
  readonly subcommands?: Readonly<Record<string, Form>>
  readonly options: O
  /** Lines printed after the options (what a value means, where things go). */
  readonly notes?: ReadonlyArray<string>
  /** Command lines that work as printed against a node running the example agents. */
  readonly examples: ReadonlyArray<string>
  /** Whether the command needs a client connection to NATS (the CLI opens it after parsing). */
  readonly connects: boolean
}

const COMMON = {
  json: flag("print JSON instead of text"),
  help: flag("print this help and exit").short("h"),
}

export type CommonOptions = typeof COMMON
export type CommandSpec<O extends OptionTable = OptionTable> = CommandDeclaration<O & CommonOptions>

export interface Parsed<O extends OptionTable> {
  readonly subcommand: string | undefined
  /** Positional arguments after the sub-command. */
  readonly args: ReadonlyArray<string>
  readonly values: Values<O>
}

export function defineCommand<const O extends OptionTable>(d: CommandDeclaration<O>): CommandSpec<O> {
  return { ...d, options: { ...d.options, ...COMMON } }
}

/** Whether the arguments ask for help (before a `--`). */
export function wantsHelp(argv: ReadonlyArray<string>): boolean {
  const end = argv.indexOf("--")
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h")
}

const optionList = (spec: CommandSpec) =>
  Object.keys(spec.options)
    .map((k) => `--${k}`)
    .join(", ")

const helpHint = (spec: CommandSpec) => `see \`npx ants ${spec.name} --help\``

/** Parses and checks the arguments after the command name. Throws UsageError. */
export function parseCommand<O extends OptionTable>(spec: CommandDeclaration<O>, argv: ReadonlyArray<string>): Parsed<O> {
  const s = spec as unknown as CommandSpec
  const config: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {}
  for (const [name, o] of Object.entries(s.options)) {
    config[name] = { type: o.isFlag ? "boolean" : "string", ...(o.fields.multiple ? { multiple: true } : {}), ...(o.fields.short ? { short: o.fields.short } : {}) }
  }
  let parsed: { values: Record<string, string | boolean | Array<string | boolean> | undefined>; positionals: string[] }
  try {
    parsed = parseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true }) as typeof parsed
  } catch (e) {
    throw new UsageError(parseArgsMessage(s, e as Error & { code?: string }))
  }
  let positionals = parsed.positionals
  let subcommand: string | undefined
  let form = s.args ?? { args: "", min: 0, max: 0, summary: "" }
  if (s.subcommands) {
    const names = Object.keys(s.subcommands)
    const [first, ...rest] = positionals
    if (first === undefined) throw new UsageError(`${s.name} needs a command: ${names.join(", ")}`)
    const found = Object.entries(s.subcommands).find(([n, f]) => n === first || f.aliases?.includes(first))
    if (!found) throw new UsageError(`unknown ${s.name} command "${first}": use ${names.join(", ")}`)
    subcommand = found[0]
    form = found[1]
    positionals = rest
  }
  const what = subcommand ? `${s.name} ${subcommand}` : s.name
  if (positionals.length < form.min) throw new UsageError(`${what} needs ${form.args}`)
  if (positionals.length > form.max) {
    const extra = positionals.slice(form.max)
    throw new UsageError(
      form.max === 0
        ? `${what} takes no arguments, got ${extra.join(" ")}`
        : `unexpected arguments after ${form.args}: ${extra.join(" ")} (quote a JSON argument as one word: '{"text":"hi"}')`,
    )
  }
  const values: Record<string, unknown> = {}
  for (const [name, o] of Object.entries(s.options)) {
    const raw = parsed.values[name]
    const f = `--${name}`
    if (raw === undefined) {
      if (o.fields.isRequired) throw new UsageError(`${f}${o.value ? ` ${o.value}` : ""} is required for ${what}: ${o.fields.description}`)
      values[name] = o.fields.defaultValue
      continue
    }
    if (o.fields.only && subcommand !== undefined && !o.fields.only.includes(subcommand)) {
      throw new UsageError(`${f} is for ${s.name} ${o.fields.only.join(" / ")}, not ${subcommand}`)
    }
    values[name] = o.parse(raw, f)
  }
  return { subcommand, args: positionals, values: values as Values<O> }
}

function parseArgsMessage(spec: CommandSpec, e: Error & { code?: string }): string {
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const opt = /'([^']+)'/.exec(e.message)?.[1] ?? "?"
    return `unknown option ${opt}; ants ${spec.name} takes ${optionList(spec)} (${helpHint(spec)})`
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const name = /--([\w-]+)/.exec(e.message)?.[1]
    const o = name === undefined ? undefined : spec.options[name]
    if (o && o.isFlag) return `--${name} takes no value`
    // parseArgs also lands here for a value that starts with "-" (taken for an option)
    if (o) return `--${name} needs a value: ${o.value} (${o.fields.description}); write one that starts with "-" as --${name}=<value>`
  }
  return e.message
}

// ---------------------------------------------------------------------------------------------

const WIDTH = 100

function wrap(textLine: string, indent: number, width = WIDTH): string[] {
  const words = textLine.split(" ")
  const lines: string[] = []
  let line = ""
  for (const w of words) {
    if (line && indent + line.length + 1 + w.length > width) {
      lines.push(line)
      line = w
    } else line = line ? `${line} ${w}` : w
  }
  if (line) lines.push(line)
  return lines
}

function table(rows: ReadonlyArray<readonly [string, string]>, indent = 2): string[] {
  const col = Math.min(Math.max(...rows.map(([l]) => l.length)), 30)
  const out: string[] = []
  for (const [left, right] of rows) {
    const pad = " ".repeat(indent)
    const body = wrap(right, indent + col + 2)
    if (left.length > col) {
      out.push(pad + left)
      for (const b of body) out.push(pad + " ".repeat(col + 2) + b)
    } else {
      out.push(pad + left.padEnd(col + 2) + (body[0] ?? ""))
      for (const b of body.slice(1)) out.push(pad + " ".repeat(col + 2) + b)
    }
  }
  return out
}

/** The usage lines (`usage: ants task submit ...`), printed with usage errors too. */
export function usageLines(spec: CommandSpec): string {
  const forms = spec.subcommands
    ? Object.entries(spec.subcommands).map(([n, f]) => `ants ${spec.name} ${n}${f.args ? " " + f.args : ""} [options]`)
    : [`ants ${spec.name}${spec.args?.args ? " " + spec.args.args : ""} [options]`]
  return forms.map((f, i) => (i === 0 ? `usage: ${f}` : `       ${f}`)).join("\n")
}

function optionLine(name: string, o: AnyOpt): readonly [string, string] {
  const left = `${o.fields.short ? `-${o.fields.short}, ` : ""}--${name}${o.value ? ` ${o.value}` : ""}`
  const parts = [o.fields.description]
  if (o.fields.only) parts.push(`[${o.fields.only.join(", ")}]`)
  if (o.fields.isRequired) parts.push("(required)")
  const d = o.defaultLabel()
  if (d !== undefined) parts.push(`(default: ${d})`)
  return [left, parts.join(" ")]
}

/** The whole help of a command: usage, sub-commands, every option, notes and examples. */
export function helpText(spec: CommandSpec): string {
  const lines = [`ants ${spec.name}: ${spec.summary}`, "", usageLines(spec)]
  if (spec.subcommands) {
    lines.push("", "commands:")
    lines.push(
      ...table(
        Object.entries(spec.subcommands).map(([n, f]) => [`${n}${f.aliases?.length ? ` (${f.aliases.join(", ")})` : ""}`, f.summary] as const),
      ),
    )
  } else if (spec.args?.summary) {
    lines.push("", ...wrap(spec.args.summary, 0))
  }
  lines.push("", "options:", ...table(Object.entries(spec.options).map(([n, o]) => optionLine(n, o))))
  if (spec.notes?.length) lines.push("", ...spec.notes.flatMap((n) => wrap(n, 0)))
  lines.push("", "examples:", ...spec.examples.map((e) => `  ${e}`))
  return lines.join("\n")
}

/** A usage error as printed: the message, the usage lines, where the full help is. */
export function usageErrorText(spec: CommandSpec, message: string): string {
  const hint = message.includes(`npx ants ${spec.name} --help`) ? "" : `\n(every option: npx ants ${spec.name} --help)`
  return `${message}\n${usageLines(spec)}${hint}`
}
