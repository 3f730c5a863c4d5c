/**
 * The one error of the command line that means "the command was called wrongly": an unknown
 * command or option, a missing argument, a value of the wrong form. Every command exits 2 on it
 * and prints the message with a pointer to its `--help`; nothing has been sent anywhere yet when
 * it is thrown from parsing.
 */
import { TaggedError } from "../../subjects/errors.ts"
export class UsageError extends TaggedError("UsageError") {
  readonly exitCode = 2
  constructor(message: string) {
    super(message)
  }
}

export function isUsageError(e: unknown): e is UsageError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "UsageError"
}
