import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Kvm } from "@nats-io/kv"
import type { NatsConnection } from "@nats-io/nats-core"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"
import { isWrongLastSequence } from "../../subjects/jetstream.ts"
import { ERROR_CODE_BY_TAG, TaggedError, errorCodeOf, hasTag, tagOf } from "../../subjects/errors.ts"
import { BudgetExceededError, ContextOverflowError, ModelConfigError, ModelUnavailableError, ProviderError, ToolCallError, TurnError } from "../../runtime/models/errors.ts"
import { LimitError } from "../../runtime/limits/limit-error.ts"

describe("errors as tagged data", () => {
  it("errors - a TaggedError class carries its tag as _tag and name, with the message and cause", () => {
    class NoSuchThing extends TaggedError("NoSuchThing") {}
    const cause = new Error("underneath")
    const e = new NoSuchThing("nothing here", { cause })
    expect(e._tag).toBe("NoSuchThing")
    expect(e.name).toBe("NoSuchThing")
    expect(e.message).toBe("nothing here")
    expect(e.cause).toBe(cause)
    expect(e).toBeInstanceOf(Error)
    expect(tagOf(e)).toBe("NoSuchThing")
    expect(hasTag(e, "NoSuchThing")).toBe(true)
    expect(hasTag(e, "Other")).toBe(false)
    expect(tagOf("a string")).toBeUndefined()
    expect(tagOf({ _tag: 3 })).toBeUndefined()
  })

  it("errors - a handler's error gets its envelope code from its tag; anything else is handler_failed", () => {
    expect(errorCodeOf(new BudgetExceededError("spent", "tenant", 1, 2))).toBe("budget_exceeded")
    expect(errorCodeOf(new ModelUnavailableError("none", []))).toBe("unavailable")
    expect(errorCodeOf(new ProviderError("rate_limited", "429"))).toBe("unavailable")
    expect(errorCodeOf(new ContextOverflowError("too long", 10))).toBe("invalid_request")
    expect(errorCodeOf(new ToolCallError("bad tool", "t"))).toBe("invalid_request")
    expect(errorCodeOf(new ModelConfigError("bad file"))).toBe("invalid_request")
    expect(errorCodeOf(new TurnError("too many steps", "step_limit"))).toBe("handler_failed")
    // by tag, not by class: an error that lost its prototype (a worker thread, a record in KV) maps the same
    expect(errorCodeOf({ _tag: "BudgetExceededError", message: "spent" })).toBe("budget_exceeded")
    expect(errorCodeOf(new LimitError("bytes", "too big"))).toBe("handler_failed")
    expect(errorCodeOf(new Error("boom"))).toBe("handler_failed")
    expect(errorCodeOf("thrown string")).toBe("handler_failed")
    expect(errorCodeOf({ _tag: "toString" })).toBe("handler_failed")
    // every entry names an error that a handler may throw and keeps its own code; no entry maps to nothing
    expect(Object.keys(ERROR_CODE_BY_TAG)).toEqual(
      expect.arrayContaining(["BudgetExceededError", "ContextOverflowError", "ModelConfigError", "ModelUnavailableError", "ProviderError", "ToolCallError", "TurnError"]),
    )
    for (const [tag, code] of Object.entries(ERROR_CODE_BY_TAG)) expect(errorCodeOf({ _tag: tag })).toBe(code)
  })
})

describe("JetStream write conflicts, against a real server", () => {
  let server: NatsServer
  let nc: NatsConnection
  beforeAll(async () => {
    server = await natsFixture()
    nc = await rawConnect(server.url)
  })
  afterAll(async () => {
    await nc?.close()
    await server?.stop()
  })

  it("errors - isWrongLastSequence knows a stale update and a create of a key that exists, and nothing else", async () => {
    const kv = await new Kvm(nc).create("test_conflicts", { history: 1 })
    const first = await kv.put("k", "1")
    await kv.put("k", "2")
    const stale = await kv.update("k", "3", first).then(() => undefined, (e: unknown) => e)
    expect(stale).toBeDefined()
    expect(isWrongLastSequence(stale)).toBe(true)
    const exists = await kv.create("k", "4").then(() => undefined, (e: unknown) => e)
    expect(exists).toBeDefined()
    expect(isWrongLastSequence(exists)).toBe(true)
    const other = await new Kvm(nc).open("no_such_bucket").then(() => undefined, (e: unknown) => e)
    expect(isWrongLastSequence(other)).toBe(false)
    expect(isWrongLastSequence(new Error("timeout"))).toBe(false)
    expect(isWrongLastSequence(undefined)).toBe(false)
  })
})
