/** The command line's error: a message that says what to do, and the exit code (2: bad usage). Checked by `_tag`. */
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
