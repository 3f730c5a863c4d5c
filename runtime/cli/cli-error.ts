/** A command-line mistake the user can fix: printed without a stack, exit code 2 unless said. */
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
