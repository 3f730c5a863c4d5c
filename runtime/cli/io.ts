/** Where a command writes: stdout and stderr in the CLI, a buffer in tests. */
export interface Io {
  out(s: string): void
  err(s: string): void
}

/** A command-line mistake or refusal: said on stderr, with the exit code (2: usage). */
export class CliError extends Error {
  readonly _tag = "CliError"
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message)
    this.name = "CliError"
  }
}

/** A command line that asks for something impossible: the command prints it with its usage. Checked by `_tag`. */
export class UsageError extends Error {
  readonly _tag = "UsageError"
  constructor(message: string) {
    super(message)
    this.name = "UsageError"
  }
}

export function isUsageError(e: unknown): e is UsageError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "UsageError"
}
