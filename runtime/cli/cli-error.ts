/**
 * The command line's one failure that is not a usage error (that is UsageError, usage-error.ts):
 * the command could not do what was asked, with the exit code to end with (1, or 2 when there
 * is no NATS to talk to). Checked by `_tag`.
 */
import { TaggedError } from "../../subjects/errors.ts"
export class CliError extends TaggedError("CliError") {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}
