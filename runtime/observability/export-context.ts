/**
 * The context manager `startTracing` installs: the SDK's own (AsyncLocalStorage), except for
 * the context its batch span processor enters around each export, which only says "do not
 * trace this" (so an HTTP instrumentation does not trace the exporter's own request).
 *
 * Why: entering an AsyncLocalStorage once turns on Node's async hooks for every promise the
 * process creates from then on (Node 20), about 1 µs of CPU per ask measured on the `tracing`
 * bench; the processor's first export would do it even when nothing else does (a swarm of
 * plain handlers: see `withTurnSpan`). The suppression has to hold while the export starts:
 * the serialization and the `http.request` it makes run synchronously in the processor's call,
 * and that is where an instrumentation starts its span. So that context is kept in a slot for
 * the synchronous call instead; what the export does later (a retry after a timer) is not
 * covered by it. Every other context (a span made active, the application's own) goes through
 * AsyncLocalStorage as before.
 */
import { createContextKey, type Context, type ContextManager } from "@opentelemetry/api"

/** The key `suppressTracing` of @opentelemetry/core sets (context keys are `Symbol.for` their name). */
const SUPPRESS_TRACING = createContextKey("OpenTelemetry SDK Context Key SUPPRESS_TRACING")

export class ExportContextManager implements ContextManager {
  readonly #inner: ContextManager
  #slot: Context | undefined

  constructor(inner: ContextManager) {
    this.#inner = inner
  }

  active(): Context {
    return this.#slot ?? this.#inner.active()
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const outer = this.#slot
    if (context.getValue(SUPPRESS_TRACING) === true) {
      this.#slot = context
      try {
        return fn.apply(thisArg, args)
      } finally {
        this.#slot = outer
      }
    }
    // a context entered inside the slot's call replaces it there
    this.#slot = undefined
    try {
      return this.#inner.with(context, fn, thisArg, ...args)
    } finally {
      this.#slot = outer
    }
  }

  bind<T>(context: Context, target: T): T {
    return this.#inner.bind(context, target)
  }

  enable(): this {
    this.#inner.enable()
    return this
  }

  disable(): this {
    this.#slot = undefined
    this.#inner.disable()
    return this
  }
}
