/**
 * Errors of the memory layer, as tagged data: check them by `_tag` and `code`, never by
 * `instanceof` (an error copied across a process or an isolate loses its prototype). Every
 * check of bad input happens before anything is written, so an error means nothing changed.
 */
import { TaggedError } from "../../subjects/errors.ts"

export type MemoryErrorCode =
  /** Bad argument: unknown kind, empty text, a non-finite number, a bad filter, k out of range. */
  | "invalid_input"
  /** A vector whose length is not the store's dimensions (given, or returned by a provider). */
  | "dimension_mismatch"
  /** Text, object or metadata over its limit. */
  | "too_large"
  /** No memory with that id in this tenant. */
  | "not_found"
  /** The database or the embedding provider cannot be reached or failed. */
  | "unavailable"
  /** The database refused the setup (missing pgvector, a role that cannot be created...). */
  | "setup_failed"

export class MemoryError extends TaggedError("MemoryError") {
  constructor(
    readonly code: MemoryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export function isMemoryError(e: unknown, code?: MemoryErrorCode): e is MemoryError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "MemoryError" && (code === undefined || (e as { code?: unknown }).code === code)
}

/** Wraps a driver or provider failure; a MemoryError passes through unchanged. */
export function asMemoryError(e: unknown, what: string): MemoryError {
  if (isMemoryError(e)) return e
  const message = e instanceof Error ? e.message || e.name : String(e)
  return new MemoryError("unavailable", `${what}: ${message}`, { cause: e })
}
