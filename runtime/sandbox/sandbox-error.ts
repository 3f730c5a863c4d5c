/**
 * The one error of the sandbox layer. `code` says what stopped the run; it is data (check
 * `e._tag === "SandboxError"` and `e.code`, never `instanceof`: an error that crossed a worker or
 * the wire has no prototype).
 */
import { TaggedError } from "../../subjects/errors.ts"

export const SANDBOX_ERROR_CODES = [
  /** The code used more CPU time than `limits.cpuMs`; its isolate was disposed. */
  "cpu_limit",
  /** The run lasted longer than `limits.wallMs` (awaiting included); its isolate was disposed. */
  "wall_limit",
  /** The isolate's heap passed `limits.memoryMb`; it was disposed. */
  "memory_limit",
  /** The source does not compile, imports something, or has no async function to call. */
  "invalid_module",
  /** The code threw (or rejected); the message is the code's own. */
  "thrown",
  /** The result's JSON is larger than `limits.resultBytes`. */
  "result_too_large",
  /** The arguments or the result are not plain JSON (a function, a cycle, a prototype key). */
  "not_json",
  /** The code asked `fetch` for a URL outside its allow-list (a redirect included). */
  "fetch_denied",
  /** isolated-vm is not installed, or the sandbox is closed or full. */
  "unavailable",
] as const

export type SandboxErrorCode = (typeof SANDBOX_ERROR_CODES)[number]

export class SandboxError extends TaggedError("SandboxError") {
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`sandbox ${code}: ${message}`, options)
  }
}

export function isSandboxError(e: unknown): e is SandboxError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "SandboxError"
}

/** How the sandbox reports what it did (a breach, a discarded isolate) to the node's log. */
export type SandboxLog = (level: "debug" | "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void
