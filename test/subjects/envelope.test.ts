import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  ERROR_CODES,
  ErrorCode,
  LifecycleEvent,
  ReplyEnvelope,
  SupervisorEvent,
  decodeReply,
  encodeError,
  encodeOk,
} from "../../subjects/envelope.ts"

const dec = new TextDecoder()
const json = (b: Uint8Array) => JSON.parse(dec.decode(b))

describe("reply envelopes", () => {
  it("envelope - error codes are a closed set (the README lists them)", () => {
    for (const c of ["invalid_subject", "invalid_message", "unknown_type", "unknown_tag", "overloaded", "handler_failed", "unavailable", "timeout", "forbidden"]) {
      expect(ERROR_CODES).toContain(c)
    }
    expect(Schema.is(ErrorCode)("invalid_subject")).toBe(true)
    expect(Schema.is(ErrorCode)("oops")).toBe(false)
  })

  it("encodeOk - writes {ok:true,value} and undefined becomes null", () => {
    expect(dec.decode(encodeOk({ total: 3 }))).toBe('{"ok":true,"value":{"total":3}}')
    expect(json(encodeOk(undefined))).toEqual({ ok: true, value: null })
    expect(json(encodeOk("text"))).toEqual({ ok: true, value: "text" })
    expect(json(encodeOk([1, { a: null }]))).toEqual({ ok: true, value: [1, { a: null }] })
  })

  it("encodeError - writes {ok:false,error:{code,message}} with details only when given", () => {
    expect(json(encodeError("unknown_tag", "no tag"))).toEqual({ ok: false, error: { code: "unknown_tag", message: "no tag" } })
    expect(json(encodeError("invalid_message", "bad", [{ path: ["n"] }]))).toEqual({
      ok: false,
      error: { code: "invalid_message", message: "bad", details: [{ path: ["n"] }] },
    })
    expect("details" in json(encodeError("timeout", "late")).error).toBe(false)
  })

  it("decodeReply - round-trips both envelopes, from bytes or a string", () => {
    expect(decodeReply(encodeOk({ text: "hi" }))).toEqual({ ok: true, value: { text: "hi" } })
    expect(decodeReply(dec.decode(encodeOk(1)))).toEqual({ ok: true, value: 1 })
    for (const code of ERROR_CODES) {
      expect(decodeReply(encodeError(code, `m-${code}`, { n: 1 }))).toEqual({ ok: false, error: { code, message: `m-${code}`, details: { n: 1 } } })
    }
  })

  it("decodeReply - a payload that is not JSON or not an envelope becomes invalid_message", () => {
    expect(decodeReply("not json")).toEqual({ ok: false, error: { code: "invalid_message", message: "reply is not JSON" } })
    const notEnvelope = decodeReply('{"total":3}')
    expect(notEnvelope.ok).toBe(false)
    expect(!notEnvelope.ok && notEnvelope.error.code).toBe("invalid_message")
    expect(!notEnvelope.ok && notEnvelope.error.details).toEqual({ total: 3 })
    const unknownCode = decodeReply('{"ok":false,"error":{"code":"oops","message":"x"}}')
    expect(!unknownCode.ok && unknownCode.error.code).toBe("invalid_message")
    const noMessage = decodeReply('{"ok":false,"error":{"code":"timeout"}}')
    expect(!noMessage.ok && noMessage.error.code).toBe("invalid_message")
    expect(decodeReply("null").ok).toBe(false)
    expect(decodeReply("[]").ok).toBe(false)
  })

  it("ReplyEnvelope - the schema accepts what the encoders write", () => {
    const is = Schema.is(ReplyEnvelope)
    expect(is(json(encodeOk({ a: 1 })))).toBe(true)
    expect(is(json(encodeError("forbidden", "no")))).toBe(true)
    expect(is({ ok: true })).toBe(false)
    expect(is({ ok: false, error: { code: "forbidden" } })).toBe(false)
  })
})

describe("system events", () => {
  it("LifecycleEvent - decodes a transition and refuses unknown states", () => {
    const decode = Schema.decodeUnknownEither(LifecycleEvent)
    expect(decode({ from: "cold", to: "warming", node: "n1", at: "2026-01-01T00:00:00Z" })._tag).toBe("Right")
    expect(decode({ from: "cold", to: "frozen", node: "n1", at: "x" })._tag).toBe("Left")
  })

  it("SupervisorEvent - decodes a decision and refuses unknown directives", () => {
    const decode = Schema.decodeUnknownEither(SupervisorEvent)
    expect(decode({ directive: "restart", reason: "boom", restarts: 1, node: "n1", at: "t", backoffMs: 20 })._tag).toBe("Right")
    expect(decode({ directive: "reboot", reason: "boom", restarts: 1, node: "n1", at: "t" })._tag).toBe("Left")
  })
})
