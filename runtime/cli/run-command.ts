/**
 * How every command is invoked, from `ants <command>` and from code (`taskCommand(argv, io)`):
 * `--help` prints the declaration's help and exits 0 before anything else happens; the
 * arguments are parsed and checked against the declaration; a usage error, from parsing or from
 * the command itself, exits 2 with the message and the usage lines (with --json, one document
 * `{"ok":false,"error":{"code":"usage","message","details":{"usage"}}}` on stdout).
 */
import type { Io } from "./io.ts"
import type { OptionTable } from "./option.ts"
import { helpText, parseCommand, usageErrorText, usageLines, wantsHelp, type CommandSpec, type Parsed } from "./command-spec.ts"
import { isUsageError } from "./usage-error.ts"

/** What a command's module gets: where to print, and whether to print JSON. */
export interface CommandIo {
  readonly json: boolean
  out(s: string): void
  /** Usage and error text when not --json (default: `out`). */
  err?(s: string): void
}

/** Whether --json is among the arguments (before `--`), for errors raised before parsing succeeds. */
function jsonRequested(argv: ReadonlyArray<string>): boolean {
  const end = argv.indexOf("--")
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json")
}

export function printUsageError(spec: CommandSpec, message: string, io: CommandIo, json: boolean): number {
  if (json) io.out(JSON.stringify({ ok: false, error: { code: "usage", message, details: { usage: usageLines(spec) } } }))
  else (io.err ?? io.out).call(io, `ants ${spec.name}: ${usageErrorText(spec, message)}`)
  return 2
}

export async function runCommand<O extends OptionTable>(
  spec: CommandSpec<O>,
  argv: ReadonlyArray<string>,
  io: CommandIo,
  body: (parsed: Parsed<CommandSpec<O>["options"]>, json: boolean) => Promise<number | void>,
): Promise<number> {
  if (wantsHelp(argv)) {
    io.out(helpText(spec as CommandSpec))
    return 0
  }
  let json = io.json || jsonRequested(argv)
  try {
    const parsed = parseCommand(spec, argv)
    json = io.json || parsed.values.json === true
    return (await body(parsed, json)) ?? 0
  } catch (e) {
    if (isUsageError(e)) return printUsageError(spec as CommandSpec, e.message, io, json)
    throw e
  }
}
