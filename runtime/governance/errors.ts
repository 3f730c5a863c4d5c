/**
 * The governance layer's errors, one class with a `code` (checked by `_tag`, never
 * `instanceof`): `invalid` (bad input: a rule, a receipt, an approval decision), `not_found`
 * (no such approval), `conflict` (already decided: say `override` to change a decision),
 * `forbidden` (the server refused this connection: another tenant's audit), `unavailable` (the
 * audit stream or a bucket could not be reached; retry).
 */
import { TaggedError } from "../../subjects/errors.ts"

export type GovernanceErrorCode = "invalid" | "not_found" | "conflict" | "forbidden" | "unavailable"

export class GovernanceError extends TaggedError("GovernanceError") {
  constructor(
    readonly code: GovernanceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
