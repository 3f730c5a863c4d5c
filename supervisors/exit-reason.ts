/**
 * Why a child stopped, and whether its restart type wants it back (OTP semantics).
 *
 * `normal` and `shutdown` are normal exits; `{ error }` is abnormal. A `permanent` child is
 * always restarted, a `transient` one only after an abnormal exit, a `temporary` one never.
 * Note that OTP restarts a permanent child even after a normal exit, and counts that restart
 * toward the intensity like any other.
 */
import type { RestartType } from "./spec.ts"

export type ExitReason = "normal" | "shutdown" | { readonly error: unknown }

export function isAbnormal(reason: ExitReason): reason is { readonly error: unknown } {
  return typeof reason === "object" && reason !== null
}

/** Whether a child of this restart type is restarted after exiting for this reason. */
export function shouldRestart(restart: RestartType, reason: ExitReason): boolean {
  switch (restart) {
    case "permanent":
      return true
    case "transient":
      return isAbnormal(reason)
    case "temporary":
      return false
  }
}

/** A one-line, human-readable description of an error or exit reason (for published events). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message ? `${error.name}: ${error.message}` : error.name
  if (typeof error === "string") return error
  if (error !== null && typeof error === "object") {
    const e = error as { _tag?: unknown; message?: unknown }
    if (typeof e.message === "string") return typeof e._tag === "string" ? `${e._tag}: ${e.message}` : e.message
    if (typeof e._tag === "string") return e._tag
    try {
      return JSON.stringify(error)
    } catch {
      return String(error)
    }
  }
  return String(error)
}

export function describeReason(reason: ExitReason): string {
  return isAbnormal(reason) ? describeError(reason.error) : reason
}
