/**
 * The tool layer's one error: `ToolError`, tagged, carrying the reply envelope's code (a tool
 * not found, arguments that do not fit, a run that failed or ran out of its limits) and the
 * details a caller needs (schema issues, the sandbox's own code). Check it by `_tag`
 * (`isToolError`): one decoded from a reply has no prototype.
 */
import { CodedError, hasTag } from "../../subjects/errors.ts"

export class ToolError extends CodedError("ToolError") {}

export function isToolError(e: unknown): e is ToolError {
  return hasTag(e, "ToolError")
}
