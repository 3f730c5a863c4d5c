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
