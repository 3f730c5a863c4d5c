/**
 * The tool layer's one error: `ToolError`, tagged, carrying the reply envelope's code (a tool
 * not found, arguments that do not fit, a run that failed or ran out of its limits) and the
 * details a caller needs (schema issues, the sandbox's own code). Check it by `_tag`
 * (`isToolError`): one decoded from a reply has no prototype.
 */
import { TaggedError } from "../../subjects/errors.ts"
import type { ErrorCode } from "../../subjects/envelope.ts"

export class ToolError extends TaggedError("ToolError") {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export function isToolError(e: unknown): e is ToolError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "ToolError"
}
