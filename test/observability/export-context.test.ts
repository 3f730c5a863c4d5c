/**
 * The context manager `startTracing` installs: the SDK's export context (tracing suppressed)
 * holds for the synchronous call it is entered for; any other context is carried across awaits
 * by AsyncLocalStorage as before.
 */
import { afterEach, describe, expect, it } from "vitest"
import { context, createContextKey, ROOT_CONTEXT, trace } from "@opentelemetry/api"
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base"
import { startTracing, type Tracing } from "../../runtime/observability/mod.ts"

const SUPPRESS_TRACING = createContextKey("OpenTelemetry SDK Context Key SUPPRESS_TRACING")
const OTHER = createContextKey("ants test key")

const dropAll: SpanExporter = {
  export: (_spans: ReadableSpan[], done) => done({ code: 0 }),
  shutdown: async () => undefined,
}

let tracing: Tracing | undefined
afterEach(async () => {
  await tracing?.stop()
  tracing = undefined
})

describe("export context", () => {
  it("export context - a suppressed context holds for its synchronous call only; other contexts survive awaits", async () => {
    tracing = (await startTracing({ exporter: dropAll, processor: "simple" }))!
    const suppressed = ROOT_CONTEXT.setValue(SUPPRESS_TRACING, true)
    let after: Promise<unknown> = Promise.resolve()
    const inside = context.with(suppressed, () => {
      after = Promise.resolve().then(() => context.active().getValue(SUPPRESS_TRACING))
      // a context entered inside the suppressed call replaces it there, and is carried on
      const nested = context.with(ROOT_CONTEXT.setValue(OTHER, 1), async () => {
        await null
        return [context.active().getValue(OTHER), context.active().getValue(SUPPRESS_TRACING)]
      })
      return { now: context.active().getValue(SUPPRESS_TRACING), nested }
    })
    expect(inside.now).toBe(true)
    expect(await inside.nested).toEqual([1, undefined])
    expect(await after).toBeUndefined()
    expect(context.active().getValue(SUPPRESS_TRACING)).toBeUndefined()
    // a span made active is carried across an await (AsyncLocalStorage)
    const span = trace.getTracer("test").startSpan("outer")
    const seen = await context.with(trace.setSpan(ROOT_CONTEXT, span), async () => {
      await null
      return trace.getActiveSpan()
    })
    span.end()
    expect(seen).toBe(span)
  })
})
