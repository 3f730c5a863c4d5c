/**
 * What the gateway answers when something fails: an error envelope with the code a NATS
 * client would have seen, under the HTTP status `status-codes.ts` gives that code. Errors of
 * the layers below carry their code (`AskError`, `TaskEngineError`, `TaskInputError`) or are
 * named by their tag; the server refusing a principal is `forbidden`.
 */
import { ERROR_CODES, type ErrorCode } from "../../subjects/envelope.ts"
import { TaggedError, tagOf } from "../../subjects/errors.ts"

/** A request the gateway itself refuses (no token, wrong tenant, operator-only route, bad query). */
export class GatewayError extends TaggedError("GatewayError") {
  constructor(
    readonly code: ErrorCode | "unauthenticated",
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

export interface ErrorBody {
  readonly code: string
  readonly message: string
  readonly details?: unknown
}

const TAG_CODES: Readonly<Record<string, ErrorCode>> = {
  SubjectError: "invalid_subject",
  PheromoneError: "invalid_request",
  ProtocolError: "invalid_message",
  GatewayConfigError: "invalid_request",
}

function isCode(c: unknown): c is ErrorCode {
  return typeof c === "string" && (ERROR_CODES as ReadonlyArray<string>).includes(c)
}

/** Whether the server refused the operation on the principal's permissions (anywhere in its causes). */
export function refusedByServer(e: unknown): boolean {
  for (let c = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    if (c.name === "PermissionViolationError" || /Permissions Violation/i.test(c.message)) return true
  }
  return false
}

/** The envelope error of anything thrown while serving a request. */
export function errorBodyOf(e: unknown): ErrorBody {
  const err = e as { code?: unknown; message?: unknown; details?: unknown; issues?: unknown }
  const message = typeof err?.message === "string" ? err.message : String(e)
  if (refusedByServer(e)) return { code: "forbidden", message: `the NATS server refused this principal: ${message}` }
  const tag = tagOf(e)
  if (tag === "GatewayError") return { code: String(err.code), message, ...(err.details !== undefined ? { details: err.details } : {}) }
  if (tag === "TaskInputError") return { code: "invalid_request", message, ...(Array.isArray(err.issues) && err.issues.length ? { details: err.issues } : {}) }
  if (isCode(err?.code)) return { code: err.code, message, ...(err.details !== undefined ? { details: err.details } : {}) }
  if (tag !== undefined && TAG_CODES[tag]) return { code: TAG_CODES[tag]!, message }
  return { code: "unavailable", message: `the gateway could not serve this request: ${message}` }
}
