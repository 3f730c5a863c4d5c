/**
 * A protocol's compiled codecs give exactly what Effect's parser gives (they take a fast path
 * for the common schemas): same success or failure, same value, same field order.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Either, Schema } from "effect"
import { counter, echo } from "../../actors/examples/index.ts"
import { benchTally } from "../../bench/agents.ts"
import { defineProtocol, parseIssues } from "../../runtime/agent/protocol.ts"
import { Empty } from "../../runtime/agent/define-agent.ts"
import { fcParams } from "../supervisors/fc-params.ts"

const Finite = Schema.Number.pipe(Schema.finite())
const schemas: Record<string, Schema.Schema<any, any, never>> = {
  text: Schema.Struct({ text: Schema.String }),
  mixed: Schema.Struct({ a: Schema.String, n: Finite, ok: Schema.Boolean, kind: Schema.Literal("x"), none: Schema.Null }),
  nested: Schema.Struct({ inner: Schema.Struct({ n: Schema.Number.pipe(Schema.int()) }), tag: Schema.String }),
  empty: Empty,
  number: Schema.Number,
  finite: Finite,
  void: Schema.Void,
  unknown: Schema.Unknown,
  filtered: Schema.Struct({ a: Schema.Number, b: Schema.Number }).pipe(Schema.filter((s) => s.a < s.b || "a must be below b")),
  // not on the fast path: Effect decides alone
  optional: Schema.Struct({ a: Schema.optional(Schema.String) }),
  array: Schema.Array(Schema.Number),
}

const protocol = defineProtocol(
  Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name[0].toUpperCase() + name.slice(1), { message: s, reply: s }])),
)

/** Values near and far from the schemas' shapes. */
const value = fc.oneof(
  fc.anything(),
  fc.record({ text: fc.oneof(fc.string(), fc.integer()) }),
  fc.record({ a: fc.oneof(fc.string(), fc.double()), n: fc.oneof(fc.double(), fc.string()), ok: fc.boolean(), kind: fc.constantFrom("x", "y"), none: fc.constantFrom(null, 0) }, { requiredKeys: [] }),
  fc.record({ inner: fc.oneof(fc.record({ n: fc.oneof(fc.integer(), fc.double()) }), fc.constant(null)), tag: fc.string(), extra: fc.anything() }),
  fc.record({ a: fc.double(), b: fc.double() }),
  fc.array(fc.double()),
)

function same(a: Either.Either<unknown, any>, b: Either.Either<unknown, any>): void {
  expect(a._tag).toBe(b._tag)
  if (Either.isRight(a) && Either.isRight(b)) {
    expect(a.right).toStrictEqual(b.right)
    if (a.right !== null && typeof a.right === "object") expect(Object.keys(a.right)).toEqual(Object.keys(b.right as object))
  } else if (Either.isLeft(a) && Either.isLeft(b)) {
    expect(parseIssues(a.left)).toEqual(parseIssues(b.left))
  }
}

describe("protocol", () => {
  it("protocol - compiled codecs agree with Effect's parser on any value", () => {
    const reference = Object.entries(schemas).map(([name, s]) => ({
      tag: name[0].toUpperCase() + name.slice(1),
      decodeMessage: Schema.decodeUnknownEither(s, { errors: "all", onExcessProperty: "ignore" }),
      encode: Schema.encodeUnknownEither(s, { errors: "all" }),
      decode: Schema.decodeUnknownEither(s, { errors: "all" }),
    }))
    fc.assert(
      fc.property(value, (u) => {
        for (const r of reference) {
          const c = protocol.compiled.get(r.tag)!
          same(c.decodeMessage(u), r.decodeMessage(u))
          same(c.encodeMessage(u), r.encode(u))
          same(c.decodeReply(u), r.decode(u))
          same(c.encodeReply(u), r.encode(u))
        }
      }),
      fcParams(500),
    )
  })

  it("protocol - the example and bench agents decode a valid message into a fresh object with only the declared fields", () => {
    const say = echo.protocol.compiled.get("Say")!
    const input = { extra: 1, text: "hi" }
    const out = say.decodeMessage(input)
    expect(out).toStrictEqual(Either.right({ text: "hi" }))
    expect(Either.getOrThrow(out)).not.toBe(input)
    expect(counter.protocol.compiled.get("Add")!.decodeMessage({ n: Number.POSITIVE_INFINITY })._tag).toBe("Left")
    expect(counter.protocol.compiled.get("Add")!.decodeMessage({ n: 2 })).toStrictEqual(Either.right({ n: 2 }))
    expect(benchTally.protocol.compiled.get("Count")!.encodeReply({})).toStrictEqual(Either.right({}))
  })
})
