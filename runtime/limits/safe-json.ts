/**
 * JSON from senders, parsed with its cost bounded before the work is done and with no way to
 * reach a prototype.
 *
 * `scanJson` walks the text once, without building anything, and measures what would make the
 * parse (or everything after it: schema decoding, handlers, checkpoints) expensive or
 * dangerous: nesting depth, the number of object keys, and keys named `__proto__`,
 * `constructor` or `prototype` (also when spelled with `\u` escapes). `parseJsonSafe` refuses
 * a text over the limits or with such a key (a `LimitError` naming the limit or the key's
 * path), then parses it with `JSON.parse`. The scan is linear in the text and allocates nothing
 * on the common path (no path is kept and key names are compared in place until a refusal needs
 * the path); a text it passes cannot overflow the stack of any recursive walk bounded
 * by the depth limit.
 *
 * Why refuse rather than drop the keys: a message that silently lost a field is a lost message;
 * a refusal is an `invalid_message` the sender can see. `JSON.parse` itself never sets a
 * prototype (it defines `__proto__` as an own property), but handlers that merge objects
 * naively, and `Schema.Record` decoding, would; so such keys never get past the boundary.
 * `stripPrototypeKeys` is the lenient variant for data already stored (state written before
 * this check, KV entries written by other clients): it copies the value without those keys.
 */
import { LimitError } from "./limit-error.ts"

/** Keys that name or lead to a prototype in a naive merge. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"])

export interface JsonLimits {
  /** Deepest nesting of objects and arrays (the top-level value is depth 1). Default 64. */
  readonly maxDepth: number
  /** Object keys in the whole value. Default 100,000. */
  readonly maxKeys: number
}

export const JSON_LIMIT_DEFAULTS: JsonLimits = { maxDepth: 64, maxKeys: 100_000 }

export interface JsonScan {
  readonly depth: number
  readonly keys: number
  /** Path of the first prototype key found (object keys and array indexes), or undefined. */
  readonly prototypeKey: ReadonlyArray<string | number> | undefined
}

const QUOTE = 34
const BACKSLASH = 92
const OPEN_OBJ = 123
const CLOSE_OBJ = 125
const OPEN_ARR = 91
const CLOSE_ARR = 93
const COLON = 58
const COMMA = 44

/** Container kinds of the open containers, shared by every scan (scans are synchronous); grown when deeper limits need it. */
let kinds = new Uint8Array(128)
/** What the last `walk` saw: its deepest nesting and its key count. Read right after the call. */
let seenDepth = 0
let seenKeys = 0

/**
 * The scan: depth, keys and whether a prototype key is there (true). Without `path` (every
 * message body) it allocates nothing: key names are compared in place. With `path` (a refusal
 * to report) it also keeps the key or index of every open container there, so that on true
 * `path` is the prototype key's path.
 */
function walk(text: string, maxDepthLimit: number, maxKeysLimit: number, prototypeKeys: boolean, path?: Array<string | number>): boolean {
  let depth = 0
  let maxDepth = 0
  let keys = 0
  // open containers (never below 0, like popping an empty stack), apart from `depth`, which
  // malformed text can take below 0; JSON.parse refuses such text afterwards
  let top = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      // a string: find its end; when it is an object key (followed by ':'), check its name
      const start = i + 1
      let escaped = false
      i++
      while (i < n) {
        const d = text.charCodeAt(i)
        if (d === BACKSLASH) {
          escaped = true
          i += 2
          continue
        }
        if (d === QUOTE) break
        i++
      }
      const end = i
      let j = i + 1
      while (j < n && text.charCodeAt(j) <= 32) j++
      if (j < n && text.charCodeAt(j) === COLON && top > 0 && kinds[top - 1] === OPEN_OBJ) {
        keys++
        if (keys > maxKeysLimit) break
        if (path !== undefined) path[path.length - 1] = keyName(text, start, end, escaped)
        if (prototypeKeys && isPrototypeKey(text, start, end, escaped)) {
          seenDepth = maxDepth
          seenKeys = keys
          return true
        }
      }
      continue
    }
    if (c === OPEN_OBJ || c === OPEN_ARR) {
      depth++
      if (depth > maxDepth) {
        maxDepth = depth
        if (depth > maxDepthLimit) break
      }
      if (top === kinds.length) {
        const grown = new Uint8Array(kinds.length * 2)
        grown.set(kinds)
        kinds = grown
      }
      kinds[top++] = c
      path?.push(c === OPEN_ARR ? 0 : "")
    } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
      depth--
      if (top > 0) top--
      path?.pop()
    } else if (path !== undefined && c === COMMA && top > 0 && kinds[top - 1] === OPEN_ARR) {
      ;(path[path.length - 1] as number)++
    }
  }
  seenDepth = maxDepth
  seenKeys = keys
  return false
}

/** Whether the key between `start` and `end` (its raw text) names a prototype. */
function isPrototypeKey(text: string, start: number, end: number, escaped: boolean): boolean {
  const len = end - start
  // the three names are 9, 11 and 9 characters; escapes can only make the raw text longer
  if (len < 9) return false
  if (escaped) return PROTOTYPE_KEYS.has(unescapeKey(text.slice(start, end)))
  if (len === 9) return text.startsWith("__proto__", start) || text.startsWith("prototype", start)
  return len === 11 && text.startsWith("constructor", start)
}

/** A key's name for a path (long ones cut). */
function keyName(text: string, start: number, end: number, escaped: boolean): string {
  if (escaped) return unescapeKey(text.slice(start, end))
  return end - start <= 64 ? text.slice(start, end) : `${text.slice(start, start + 61)}...`
}

/**
 * Measures a JSON text without parsing it. It assumes nothing about validity: malformed text is
 * left for `JSON.parse` to refuse; the scan stops early (returning what it saw) once a limit is
 * passed, so its own cost is bounded by the limits as much as by the text.
 */
export function scanJson(text: string, limits: JsonLimits = JSON_LIMIT_DEFAULTS, prototypeKeys = true): JsonScan {
  if (!walk(text, limits.maxDepth, limits.maxKeys, prototypeKeys)) return { depth: seenDepth, keys: seenKeys, prototypeKey: undefined }
  // found: walk again keeping the path, to say where
  const path: Array<string | number> = []
  walk(text, limits.maxDepth, limits.maxKeys, true, path)
  return { depth: seenDepth, keys: seenKeys, prototypeKey: path }
}

function unescapeKey(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string
  } catch {
    return raw
  }
}

/**
 * Whether a text is within the limits without scanning it, for the small bodies most messages
 * are: valid JSON nested deeper than `maxDepth` needs `2 * (maxDepth + 1)` characters of
 * brackets and each key at least three (`"":`), so a shorter text can only pass them or be
 * malformed (which `JSON.parse` refuses); and a key can only name a prototype when one of the three names, or an escape, appears in the
 * raw text at all. The native substring searches cost a fraction of the scan's loop.
 */
function clearlyWithin(text: string, limits: JsonLimits): boolean {
  const n = text.length
  return (
    n < 2 * (limits.maxDepth + 1) &&
    n < 3 * (limits.maxKeys + 1) &&
    !text.includes("\\") &&
    !text.includes("__proto__") &&
    !text.includes("prototype") &&
    !text.includes("constructor")
  )
}

/** The scan's verdict as an error, or undefined when the text is within the limits. */
export function checkJsonText(text: string, limits: JsonLimits = JSON_LIMIT_DEFAULTS): LimitError | undefined {
  // the common cases, a small clean text or any text within every limit, allocate nothing
  if (clearlyWithin(text, limits)) return undefined
  if (!walk(text, limits.maxDepth, limits.maxKeys, true) && seenDepth <= limits.maxDepth && seenKeys <= limits.maxKeys) return undefined
  const s = scanJson(text, limits)
  if (s.depth > limits.maxDepth) return new LimitError("depth", `JSON nested deeper than ${limits.maxDepth} levels`, limits.maxDepth)
  if (s.keys > limits.maxKeys) return new LimitError("keys", `JSON with more than ${limits.maxKeys} object keys`, limits.maxKeys)
  if (s.prototypeKey !== undefined) {
    return new LimitError("prototype_key", `key "${s.prototypeKey[s.prototypeKey.length - 1]}" at ${formatPath(s.prototypeKey)} is not accepted (it could reach an object prototype)`, undefined, s.prototypeKey)
  }
  return undefined
}

/** Parses JSON within the limits, refusing prototype keys. Throws `LimitError` or `SyntaxError`. */
export function parseJsonSafe(text: string, limits: JsonLimits = JSON_LIMIT_DEFAULTS): unknown {
  const problem = checkJsonText(text, limits)
  if (problem !== undefined) throw problem
  return JSON.parse(text)
}

/**
 * A copy of a JSON-like value without prototype keys, at any depth up to `maxDepth` (deeper
 * values are cut to null rather than recursed into). Values that have none are returned as
 * they are (no copy), so it is cheap on clean data.
 */
export function stripPrototypeKeys<T>(value: T, maxDepth = 256): T {
  return hasPrototypeKey(value, maxDepth) ? (copyWithout(value, maxDepth) as T) : value
}

function hasPrototypeKey(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== "object") return false
  if (depth <= 0) return true
  if (Array.isArray(v)) {
    for (const x of v) if (hasPrototypeKey(x, depth - 1)) return true
    return false
  }
  for (const k of Object.keys(v)) {
    if (PROTOTYPE_KEYS.has(k)) return true
    if (hasPrototypeKey((v as Record<string, unknown>)[k], depth - 1)) return true
  }
  return false
}

function copyWithout(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== "object") return v
  if (depth <= 0) return null
  if (Array.isArray(v)) return v.map((x) => copyWithout(x, depth - 1))
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) {
    if (PROTOTYPE_KEYS.has(k)) continue
    out[k] = copyWithout((v as Record<string, unknown>)[k], depth - 1)
  }
  return out
}

export function formatPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return "the top level"
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("")
}
