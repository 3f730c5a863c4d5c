/**
 * The one table from the reply envelope's error codes to HTTP statuses. The body of an error
 * response is always the envelope itself (`{"ok":false,"error":{code,message,details?}}`), so an
 * HTTP client reads the same code a NATS client would; the status only tells generic HTTP
 * tooling (retries, proxies, dashboards) what kind of failure it was.
 */
import type { ErrorCode } from "../../subjects/envelope.ts"

export type HttpStatus = 200 | 202 | 400 | 401 | 402 | 403 | 404 | 409 | 413 | 429 | 500 | 503 | 504

export const STATUS_OF_CODE: Readonly<Record<ErrorCode, HttpStatus>> = {
  invalid_subject: 400,
  invalid_message: 400,
  invalid_request: 400,
  unknown_type: 404,
  unknown_tag: 404,
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  too_large: 413,
  quota_exceeded: 429,
  // a spent model budget: retrying does not help until someone raises it
  budget_exceeded: 402,
  handler_failed: 500,
  overloaded: 503,
  unavailable: 503,
  timeout: 504,
}

/** The HTTP status of an error code (500 for a code this table does not know). */
export function statusOf(code: string): HttpStatus {
  return (STATUS_OF_CODE as Record<string, HttpStatus>)[code] ?? 500
}

/** Codes a caller may retry as they are (the response carries `Retry-After`). */
export function retryable(code: string): boolean {
  return code === "overloaded" || code === "unavailable" || code === "quota_exceeded"
}
