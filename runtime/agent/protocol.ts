/**
 * An agent type's protocol, declared once: each message tag with the Schema of
 * its message and of its reply. From that one value come the TypeScript types of messages and
 * replies, validation at every boundary (decode on receipt, encode on reply), and the JSON
 * Schema an LLM is asked to produce for a tool call.
 */
import { TaggedError } from "../../subjects/errors.ts"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { token } from "../../subjects/grammar.ts"
import { boundedDecoder, DECODE_LIMIT_DEFAULTS, type BoundedDecoder } from "../limits/bounded-decode.ts"

/** One message of a protocol. `reply` defaults to `Schema.Void` (a tell-only message, replies `null`). */
export interface MessageSpec<M extends Schema.Schema.Any = Schema.Schema.Any, R extends Schema.Schema.Any = Schema.Schema.Any> {
  readonly message: M
  readonly reply?: R
  /** Shown to humans and to models (the JSON Schema's description). */
  readonly description?: string
}

export type ProtocolSpec = { readonly [tag: string]: MessageSpec }

/** The decoded message type of a tag. */
export type MessageOf<P extends ProtocolSpec, T extends keyof P> = Schema.Schema.Type<P[T]["message"]>
/** The encoded (wire, JSON) message type of a tag: what a caller passes. */
export type MessageInput<P extends ProtocolSpec, T extends keyof P> = Schema.Schema.Encoded<P[T]["message"]>
/** The reply type of a tag (what the handler returns and what `ask` resolves to). */
export type ReplyOf<P extends ProtocolSpec, T extends keyof P> = P[T]["reply"] extends Schema.Schema.Any
  ? Schema.Schema.Type<P[T]["reply"]>
  : void

/** A validation failure: the message or reply does not fit its schema. */
export class ProtocolError extends TaggedError("ProtocolError") {
  constructor(
    message: string,
    readonly issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  ) {
    super(message)
  }
}

type Decoder = (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
type Encoder = (u: unknown) => Either.Either<unknown, ParseResult.ParseError>

/** What a fast check returns for a value it does not pass: Effect's parser takes over. */
const MISS: unique symbol = Symbol("not on the fast path")
type Fast = (u: unknown) => unknown

const DECODE_MESSAGE = { errors: "all", onExcessProperty: "ignore" } as const
/** Senders' messages are decoded stopping at the first issue (bounded-decode.ts reports a few more on small bodies). */
const DECODE_MESSAGE_FIRST = { errors: "first", onExcessProperty: "ignore" } as const
const CODEC = { errors: "all" } as const

/**
 * The fast path of the commonest protocol schemas: structs (required fields, no index
 * signatures) of strings, numbers, booleans and literals, nested, with filters (`finite`,
 * `int`, brands...). For these, decoding and encoding are the same check and the same copy
 * (the declared fields, in declaration order, excess ones dropped), which this does without
 * Effect's machinery. A value it does not pass goes through Effect's own parser, so every
 * failure and every other schema is Effect's. Undefined when the schema has anything else
 * (optional fields, unions, arrays, transformations, parse options...).
 */
function fastCheck(ast: AST.AST, options: AST.ParseOptions): Fast | undefined {
  if (ast.annotations[AST.ParseOptionsAnnotationId] !== undefined) return undefined
  switch (ast._tag) {
    case "StringKeyword":
      return (u) => (typeof u === "string" ? u : MISS)
    case "NumberKeyword":
      return (u) => (typeof u === "number" ? u : MISS)
    case "BooleanKeyword":
      return (u) => (typeof u === "boolean" ? u : MISS)
    case "Literal": {
      const literal = ast.literal
      return (u) => (u === literal ? u : MISS)
    }
    case "UnknownKeyword":
    case "AnyKeyword":
    case "VoidKeyword":
      return (u) => u
    case "TypeLiteral": {
      if (ast.indexSignatures.length > 0) return undefined
      // Effect's `{}`: anything but null and undefined, passed through as is
      if (ast.propertySignatures.length === 0) return (u) => (u !== null && u !== undefined ? u : MISS)
      const names: string[] = []
      const checks: Fast[] = []
      for (const ps of ast.propertySignatures) {
        if (ps.isOptional || typeof ps.name !== "string") return undefined
        const check = fastCheck(ps.type, options)
        if (check === undefined) return undefined
        names.push(ps.name)
        checks.push(check)
      }
      return (u) => {
        if (typeof u !== "object" || u === null || Array.isArray(u)) return MISS
        const out: Record<string, unknown> = {}
        for (let i = 0; i < names.length; i++) {
          const v = checks[i]((u as Record<string, unknown>)[names[i]])
          if (v === MISS) return MISS
          out[names[i]] = v
        }
        return out
      }
    }
    case "Refinement": {
      const from = fastCheck(ast.from, options)
      if (from === undefined) return undefined
      return (u) => {
        const a = from(u)
        return a !== MISS && Option.isNone(ast.filter(a, options, ast)) ? a : MISS
      }
    }
    default:
      return undefined
  }
}

/** `codec` with the fast path in front of it when the schema has one. */
function withFastPath(schema: Schema.Schema<unknown, unknown, never>, options: AST.ParseOptions, codec: Decoder): Decoder {
  const fast = fastCheck(schema.ast, options)
  if (fast === undefined) return codec
  return (u) => {
    const v = fast(u)
    return v !== MISS ? Either.right(v) : codec(u)
  }
}

/** Precompiled codecs of one tag (built once per type, used on the hot path). */
export interface CompiledTag {
  readonly tag: string
  /** Every issue (for small inputs and tests). */
  readonly decodeMessage: Decoder
  /** What a node uses on what senders send: bounded time and report, whatever the body. */
  readonly decodeBounded: BoundedDecoder
  readonly encodeMessage: Encoder
  readonly decodeReply: Decoder
  readonly encodeReply: Encoder
}

export interface Protocol<P extends ProtocolSpec = ProtocolSpec> {
  readonly spec: P
  readonly tags: ReadonlyArray<keyof P & string>
  /** The compiled codecs of a tag, or undefined for an unknown tag. */
  readonly compiled: ReadonlyMap<string, CompiledTag>
  /** JSON Schema of each message (and reply), for model tool calls and documentation; keyed by the protocol's tags. */
  jsonSchema(): Record<keyof P & string, { message: unknown; reply: unknown; description?: string }>
}

/** Declares a protocol. Tags must be PascalCase subject tokens (they end up in subjects). */
export function defineProtocol<const P extends ProtocolSpec>(spec: P): Protocol<P> {
  const compiled = new Map<string, CompiledTag>()
  for (const tag of Object.keys(spec)) {
    token("tag", tag)
    if (tag.startsWith("_")) throw new ProtocolError(`tag "${tag}" is reserved: tags beginning with '_' belong to the runtime`, [])
    const m = spec[tag]
    if (!m || !Schema.isSchema(m.message)) throw new ProtocolError(`tag "${tag}" needs a message Schema`, [])
    const reply = (m.reply ?? Schema.Void) as Schema.Schema<unknown, unknown, never>
    const message = m.message as Schema.Schema<unknown, unknown, never>
    const decodeMessage = withFastPath(message, DECODE_MESSAGE, Schema.decodeUnknownEither(message, DECODE_MESSAGE))
    compiled.set(tag, {
      tag,
      decodeMessage,
      decodeBounded: boundedDecoder(message, DECODE_MESSAGE_FIRST, DECODE_LIMIT_DEFAULTS, {
        first: withFastPath(message, DECODE_MESSAGE_FIRST, Schema.decodeUnknownEither(message, DECODE_MESSAGE_FIRST)),
        all: decodeMessage,
      }),
      encodeMessage: withFastPath(message, CODEC, Schema.encodeUnknownEither(message, CODEC)),
      decodeReply: withFastPath(reply, CODEC, Schema.decodeUnknownEither(reply, CODEC)),
      encodeReply: withFastPath(reply, CODEC, Schema.encodeUnknownEither(reply, CODEC)),
    })
  }
  let cachedJson: ReturnType<Protocol<P>["jsonSchema"]> | undefined
  return {
    spec,
    tags: Object.keys(spec) as Array<keyof P & string>,
    compiled,
    jsonSchema() {
      if (cachedJson) return cachedJson
      const out: Record<string, { message: unknown; reply: unknown; description?: string }> = {}
      for (const tag of Object.keys(spec)) {
        const m = spec[tag]
        out[tag] = {
          message: JSONSchema.make(m.message as Schema.Schema<unknown, unknown, never>),
          reply: JSONSchema.make((m.reply ?? Schema.Null) as Schema.Schema<unknown, unknown, never>),
          ...(m.description ? { description: m.description } : {}),
        }
      }
      cachedJson = out as ReturnType<Protocol<P>["jsonSchema"]>
      return cachedJson
    },
  }
}

/** Flattens a ParseError into `{path, message}` issues (what `invalid_message` carries in `details`). */
export function parseIssues(error: ParseResult.ParseError): Array<{ path: PropertyKey[]; message: string }> {
  return ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({ path: [...i.path], message: i.message }))
}
