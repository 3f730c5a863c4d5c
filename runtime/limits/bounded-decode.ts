/**
 * Schema decoding whose cost and whose error report are bounded, whatever the sender sent.
 *
 * Effect's parser with `errors: "all"` visits every element and formats every issue: an
 * 800 KB message with 400,000 bad array items kept a node busy for seconds and produced an
 * issue list too large to send back. Here a message is decoded with `errors: "first"` (the
 * parser stops at the first issue); only when that fails and the body is small
 * (`allIssuesUpToBytes`) is it decoded again with `errors: "all"` to report more. Either way
 * the report keeps at most `maxIssues` issues, each message cut to `maxIssueChars` (Effect's
 * messages quote the offending value, which may be the whole body), and says how many more
 * there were when it knows.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"

export interface DecodeLimits {
  /** Issues listed in an `invalid_message` reply. Default 10. */
  readonly maxIssues: number
  /** Bodies up to this size get every issue looked for (then cut to maxIssues); larger ones the first. Default 16 KiB. */
  readonly allIssuesUpToBytes: number
  /** Characters of one issue's message. Default 300. */
  readonly maxIssueChars: number
}

export const DECODE_LIMIT_DEFAULTS: DecodeLimits = { maxIssues: 10, allIssuesUpToBytes: 16_384, maxIssueChars: 300 }

export interface Issue {
  readonly path: PropertyKey[]
  readonly message: string
}

export interface DecodeFailure {
  readonly issues: Issue[]
  /** Issues found beyond those listed (0 when all are listed; undefined when the parser stopped at the first). */
  readonly more: number | undefined
}

export type BoundedDecoder = (u: unknown, bodyBytes: number) => Either.Either<unknown, DecodeFailure>

/** Formats a parse error into at most `maxIssues` short issues. */
export function boundedIssues(error: ParseResult.ParseError, limits: DecodeLimits = DECODE_LIMIT_DEFAULTS): { issues: Issue[]; total: number } {
  const all = ParseResult.ArrayFormatter.formatErrorSync(error)
  const issues = all.slice(0, limits.maxIssues).map((i) => ({ path: i.path.slice(0, 32).map(pathToken), message: cut(i.message, limits.maxIssueChars) }))
  return { issues, total: all.length }
}

function pathToken(p: PropertyKey): PropertyKey {
  return typeof p === "string" && p.length > 128 ? `${p.slice(0, 125)}...` : p
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`
}

/**
 * A decoder for `schema` that stops at the first issue on large bodies. `first`/`all` may be
 * given precompiled (e.g. with a fast path in front); they must decode the same schema with
 * `errors: "first"` and `errors: "all"` respectively.
 */
export function boundedDecoder(
  schema: Schema.Schema<unknown, unknown, never>,
  options: AST.ParseOptions = {},
  limits: DecodeLimits = DECODE_LIMIT_DEFAULTS,
  precompiled?: {
    readonly first?: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
    readonly all?: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  },
): BoundedDecoder {
  const first = precompiled?.first ?? Schema.decodeUnknownEither(schema, { ...options, errors: "first" })
  let all = precompiled?.all
  return (u, bodyBytes) => {
    const r = first(u)
    // the common case hands on the decoder's own result (no second Either per message): a Right
    // carries no error, so its error type is free
    if (r._tag === "Right") return r as Either.Either<unknown, never>
    if (bodyBytes <= limits.allIssuesUpToBytes) {
      all ??= Schema.decodeUnknownEither(schema, { ...options, errors: "all" })
      const again = all(u)
      if (again._tag === "Left") {
        const { issues, total } = boundedIssues(again.left, limits)
        return Either.left({ issues, more: total - issues.length })
      }
    }
    const { issues } = boundedIssues(r.left, limits)
    return Either.left({ issues, more: undefined })
  }
}
