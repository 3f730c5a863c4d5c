/**
 * Limits: what a node refuses before doing work, and how it counts what it received.
 * Promises: every check here is pure and bounded by its limit (no I/O, no timers); errors are
 * `LimitError` with a `limit` tag the node maps to an envelope code. May import `effect` and
 * Node built-ins only; nothing from the rest of the runtime, so any layer can use it.
 */
export { LimitError, isLimitError } from "./limit-error.ts"
export type { LimitKind } from "./limit-error.ts"
export { JSON_LIMIT_DEFAULTS, PROTOTYPE_KEYS, checkJsonText, formatPath, parseJsonSafe, scanJson, stripPrototypeKeys } from "./safe-json.ts"
export type { JsonLimits, JsonScan } from "./safe-json.ts"
export { DECODE_LIMIT_DEFAULTS, boundedDecoder, boundedIssues } from "./bounded-decode.ts"
export type { BoundedDecoder, DecodeFailure, DecodeLimits, Issue } from "./bounded-decode.ts"
export { RateLimiter, TokenBucket } from "./token-bucket.ts"
export type { RateLimit, RateLimiterConfig } from "./token-bucket.ts"
export { MessageLedger, UNPARSED, ledgerBalances } from "./message-ledger.ts"
export type { LedgerCounts, Ticket } from "./message-ledger.ts"
export { NODE_LIMIT_DEFAULTS } from "./node-limits.ts"
export type { NodeLimits } from "./node-limits.ts"
