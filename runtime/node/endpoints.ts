/**
 * The node's request/reply endpoints (stats, supervision tree, reset) declared through one
 * wrapper, in the manner of a NATS service's handler setup: a handler returns a reply body or
 * throws; a throw becomes an error envelope (an `EndpointError` keeps its code, anything else is
 * `handler_failed`), so a caller always gets an answer and the node never sees the exception.
 * Each endpoint counts its requests and errors.
 */
import { CodedError } from "../../subjects/errors.ts"
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core"
import { encodeError } from "../../subjects/envelope.ts"

/** A refusal with a wire error code (bad request body and the like). */
export class EndpointError extends CodedError("EndpointError") {}

export interface EndpointCounters {
  requests: number
  errors: number
}

export interface Endpoints {
  /** Subscribes `handler` to `subject`; the counters are kept under `name`. */
  serve(name: string, subject: string, handler: (m: Msg) => Uint8Array): Subscription
  readonly counters: ReadonlyMap<string, EndpointCounters>
}

export function createEndpoints(nc: NatsConnection): Endpoints {
  const counters = new Map<string, EndpointCounters>()
  return {
    counters,
    serve(name, subject, handler) {
      let c = counters.get(name)
      if (c === undefined) counters.set(name, (c = { requests: 0, errors: 0 }))
      const count = c
      return nc.subscribe(subject, {
        callback: (_e, m) => {
          count.requests++
          let body: Uint8Array
          try {
            body = handler(m)
          } catch (e) {
            count.errors++
            body = e instanceof EndpointError ? encodeError(e.code, e.message, e.details) : encodeError("handler_failed", `${name}: ${(e as Error)?.message ?? e}`)
          }
          try {
            m.respond(body)
          } catch {
            // the connection is closing: nobody is left to answer
          }
        },
      })
    },
  }
}
