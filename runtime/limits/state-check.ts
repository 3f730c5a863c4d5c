/**
 * Whether an actor's state can be stored, checked when a handler finishes and before its
 * caller is told `ok`: JSON can carry it (no BigInt, no cycle, no nesting deep enough to
 * overflow the encoder), it is nested at most `maxDepth` deep (so every later read and walk
 * of it is safe), and its checkpoint fits the store (`maxBytes`, below the server's
 * max_payload). Returns the state's JSON (reused for the checkpoint) or the `LimitError`.
 */
import { LimitError } from "./limit-error.ts"
import { scanJson } from "./safe-json.ts"

export interface StateLimits {
  readonly maxBytes: number
  readonly maxDepth: number
}

export function checkState(state: unknown, limits: StateLimits): string | LimitError {
  let json: string | undefined
  try {
    json = state === undefined ? "null" : JSON.stringify(state)
  } catch (e) {
    return new LimitError("not_json", `it is not JSON: ${(e as Error).message}`)
  }
  if (json === undefined) return new LimitError("not_json", "it is not JSON (a function or a symbol)")
  // characters bound bytes from below and, times three, from above: count bytes only in between
  if (json.length > limits.maxBytes || (json.length * 3 > limits.maxBytes && Buffer.byteLength(json) > limits.maxBytes)) {
    return new LimitError("bytes", `${Buffer.byteLength(json)} bytes of JSON, over the ${limits.maxBytes} a checkpoint can hold`, limits.maxBytes)
  }
  // a flat state cannot be deep: only scan when the text has room for deep nesting
  if (json.length > 2 * limits.maxDepth) {
    const s = scanJson(json, { maxDepth: limits.maxDepth, maxKeys: Number.POSITIVE_INFINITY }, false)
    if (s.depth > limits.maxDepth) return new LimitError("depth", `nested deeper than ${limits.maxDepth} levels`, limits.maxDepth)
  }
  return json
}
