/**
 * Layer `limits`: what a node refuses before doing work on a message, and how it counts what it
 * received. Safe JSON (depth, key count, prototype keys checked before parsing), bounded schema
 * decoding, state checks before a state is acknowledged, token buckets for rates, the message
 * ledger and the node's limits with their defaults; how per-actor fields are stored small.
 *
 * Promises: every check is pure and bounded by its limit (no I/O, no timers); errors are
 * `LimitError` with a `limit` tag that the node maps to an envelope code; the ledger settles
 * each message once.
 * May import: `effect` and Node built-ins only (nothing else of the runtime), so every layer can use it.
 */
export { LimitError, isLimitError } from "./limit-error.ts"
export type { LimitKind } from "./limit-error.ts"
export { JSON_LIMIT_DEFAULTS, PROTOTYPE_KEYS, checkJsonText, formatPath, parseJsonSafe, scanJson, stripPrototypeKeys } from "./safe-json.ts"
export type { JsonLimits, JsonScan } from "./safe-json.ts"
export { DECODE_LIMIT_DEFAULTS, boundedDecoder, boundedIssues } from "./bounded-decode.ts"
export type { BoundedDecoder, DecodeFailure, DecodeLimits, Issue } from "./bounded-decode.ts"
export { RateLimiter, TokenBucket } from "./token-bucket.ts"
export { CLOCK_BASE, flatString, sharedName, sinceClockBase } from "./compact-fields.ts"
export type { RateLimit, RateLimiterConfig } from "./token-bucket.ts"
export { MessageLedger, UNPARSED, ledgerBalances } from "./message-ledger.ts"
export type { LedgerCounts, Ticket } from "./message-ledger.ts"
export { NODE_LIMIT_DEFAULTS } from "./node-limits.ts"
export type { NodeLimits } from "./node-limits.ts"
