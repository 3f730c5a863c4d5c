import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Schema } from "effect"
import { checkJsonText, parseJsonSafe, PROTOTYPE_KEYS, scanJson, stripPrototypeKeys } from "../../runtime/limits/safe-json.ts"
import { boundedDecoder } from "../../runtime/limits/bounded-decode.ts"

const deep = (n: number) => "[".repeat(n) + "]".repeat(n)

describe("safe JSON", () => {
  it("safe json - depth and keys are measured without parsing", () => {
    expect(scanJson('{"a":{"b":[1,{"c":2}]}}')).toEqual({ depth: 4, keys: 3, prototypeKey: undefined })
    expect(scanJson('"a:{[}"')).toEqual({ depth: 0, keys: 0, prototypeKey: undefined })
    expect(scanJson('{"a\\"{":1}').keys).toBe(1)
  })

  it("safe json - a value nested 100,000 deep is refused before JSON.parse", () => {
    const e = checkJsonText(deep(100_000))
    expect(e?._tag).toBe("LimitError")
    expect(e?.limit).toBe("depth")
    expect(() => parseJsonSafe(deep(64))).not.toThrow()
    expect(() => parseJsonSafe(deep(65))).toThrow(/deeper than 64/)
  })

  it("safe json - too many keys are refused", () => {
    const text = JSON.stringify(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i])))
    expect(checkJsonText(text, { maxDepth: 64, maxKeys: 10 })?.limit).toBe("keys")
    expect(checkJsonText(text, { maxDepth: 64, maxKeys: 11 })).toBeUndefined()
  })

  it("safe json - __proto__, constructor and prototype keys are refused with their path, escaped or not", () => {
    const e = checkJsonText('{"data":[0,{"__proto__":{"polluted":true}}]}')
    expect(e?.limit).toBe("prototype_key")
    expect(e?.path).toEqual(["data", 1, "__proto__"])
    expect(checkJsonText('{"a":{"constructor":{"prototype":{"x":1}}}}')?.path).toEqual(["a", "constructor"])
    expect(checkJsonText('{"\\u005f_proto__":1}')?.limit).toBe("prototype_key")
    expect(checkJsonText('{"text":"__proto__ constructor prototype"}')).toBeUndefined()
    expect(checkJsonText('["__proto__"]')).toBeUndefined()
    expect(checkJsonText('{"prototypes":1,"constructors":2}')).toBeUndefined()
  })

  it("safe json - agrees with JSON.parse on any JSON value within the limits (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => {
        const text = JSON.stringify(v)
        const s = scanJson(text)
        if (s.prototypeKey === undefined) expect(parseJsonSafe(text)).toEqual(JSON.parse(text))
        else expect(() => parseJsonSafe(text)).toThrow(/not accepted/)
      }),
    )
  })

  it("safe json - a prototype key anywhere is found, and only then (property)", () => {
    const key = fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "proto", "constructors", "text"), fc.string({ maxLength: 12 }))
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: "small" }, fc.jsonValue({ maxDepth: 1 }), fc.array(tie("v"), { maxLength: 4 }), fc.dictionary(key, tie("v"), { maxKeys: 4 })),
    })).v
    const hasKey = (v: unknown): boolean =>
      v !== null && typeof v === "object" && (Array.isArray(v) ? v.some(hasKey) : Object.keys(v).some((k) => PROTOTYPE_KEYS.has(k) || hasKey((v as Record<string, unknown>)[k])))
    fc.assert(
      fc.property(value, (v) => {
        const text = JSON.stringify(v)
        const parsed = JSON.parse(text)
        expect(checkJsonText(text)?.limit).toBe(hasKey(parsed) ? "prototype_key" : undefined)
      }),
    )
  })

  it("safe json - stored values lose their prototype keys and keep everything else", () => {
    const stored = JSON.parse('{"a":1,"b":{"__proto__":{"polluted":true},"c":[{"constructor":{"prototype":{}}},2]}}')
    const clean = stripPrototypeKeys(stored) as any
    expect(clean).toEqual({ a: 1, b: { c: [{}, 2] } })
    expect(({} as any).polluted).toBeUndefined()
    const plain = { a: [1, 2], b: "x" }
    expect(stripPrototypeKeys(plain)).toBe(plain)
  })
})

describe("bounded decode", () => {
  const Items = Schema.Struct({ items: Schema.Array(Schema.Number) })
  const decode = boundedDecoder(Items as Schema.Schema<unknown, unknown, never>)

  it("bounded decode - a large body stops at the first issue, with a short message", () => {
    const items = Array.from({ length: 400_000 }, () => "x".repeat(1))
    const r = decode({ items }, 800_000)
    expect(r._tag).toBe("Left")
    if (r._tag !== "Left") return
    expect(r.left.issues.length).toBe(1)
    expect(r.left.more).toBeUndefined()
    expect(r.left.issues[0].path).toEqual(["items", 0])
  })

  it("bounded decode - a small body lists at most ten issues and says how many more there were", () => {
    const r = decode({ items: Array.from({ length: 50 }, () => "x") }, 500)
    expect(r._tag).toBe("Left")
    if (r._tag !== "Left") return
    expect(r.left.issues.length).toBe(10)
    expect(r.left.more).toBe(40)
  })

  it("bounded decode - an issue quoting a huge value is cut", () => {
    const r = decode({ items: "y".repeat(100_000) }, 100_020)
    expect(r._tag).toBe("Left")
    if (r._tag !== "Left") return
    expect(r.left.issues[0].message.length).toBeLessThanOrEqual(300)
  })

  it("bounded decode - a valid message decodes as with Effect", () => {
    const r = decode({ items: [1, 2] }, 20)
    expect(r._tag === "Right" && r.right).toEqual({ items: [1, 2] })
  })
})
