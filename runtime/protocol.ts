/**
 * An agent type's protocol, declared once (DESIGN.md §2): each message tag with the Schema of
 * its message and of its reply. From that one value come the TypeScript types of messages and
 * replies, validation at every boundary (decode on receipt, encode on reply), and the JSON
 * Schema an LLM is asked to produce for a tool call.
 */
import { Either, JSONSchema, ParseResult, Schema } from "effect"
import { token } from "../subjects/grammar.ts"

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
export class ProtocolError extends Error {
  readonly _tag = "ProtocolError"
  constructor(
    message: string,
    readonly issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  ) {
    super(message)
    this.name = "ProtocolError"
  }
}

type Decoder = (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
type Encoder = (u: unknown) => Either.Either<unknown, ParseResult.ParseError>

/** Precompiled codecs of one tag (built once per type, used on the hot path). */
export interface CompiledTag {
  readonly tag: string
  readonly decodeMessage: Decoder
  readonly encodeMessage: Encoder
  readonly decodeReply: Decoder
  readonly encodeReply: Encoder
}

export interface Protocol<P extends ProtocolSpec = ProtocolSpec> {
  readonly spec: P
  readonly tags: ReadonlyArray<keyof P & string>
  /** The compiled codecs of a tag, or undefined for an unknown tag. */
  readonly compiled: ReadonlyMap<string, CompiledTag>
  /** JSON Schema of each message (and reply), for model tool calls and documentation. */
  jsonSchema(): Record<string, { message: unknown; reply: unknown; description?: string }>
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
    compiled.set(tag, {
      tag,
      decodeMessage: Schema.decodeUnknownEither(message, { errors: "all", onExcessProperty: "ignore" }),
      encodeMessage: Schema.encodeUnknownEither(message, { errors: "all" }),
      decodeReply: Schema.decodeUnknownEither(reply, { errors: "all" }),
      encodeReply: Schema.encodeUnknownEither(reply, { errors: "all" }),
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
      cachedJson = out
      return out
    },
  }
}

/** Flattens a ParseError into `{path, message}` issues (what `invalid_message` carries in `details`). */
export function parseIssues(error: ParseResult.ParseError): Array<{ path: PropertyKey[]; message: string }> {
  return ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({ path: [...i.path], message: i.message }))
}
