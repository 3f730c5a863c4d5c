/**
 * A message a lane's reader thread passed on (lane-reader.ts), as the node's dispatch sees any
 * message: subject, reply, body, headers (rebuilt when first read) and `respond`, which
 * publishes on the node's main connection. `prepaid`: its rate tokens were taken when the
 * reader was granted them, so dispatch does not take them again.
 */
import { headers as makeHeaders, type Msg, type MsgHdrs, type NatsConnection, type Payload, type PublishOptions } from "@nats-io/nats-core"

const decoder = new TextDecoder()

export class LaneMsg implements Msg {
  #headers: MsgHdrs | undefined
  readonly #raw: Array<[string, string[]]> | undefined
  readonly #nc: NatsConnection

  constructor(
    readonly sid: number,
    readonly subject: string,
    readonly reply: string,
    readonly data: Uint8Array,
    raw: Array<[string, string[]]> | undefined,
    readonly prepaid: boolean,
    nc: NatsConnection,
  ) {
    this.#raw = raw
    this.#nc = nc
  }

  get headers(): MsgHdrs | undefined {
    if (this.#raw === undefined) return undefined
    if (this.#headers === undefined) {
      const h = makeHeaders()
      for (const [k, vs] of this.#raw) for (const v of vs) h.append(k, v)
      this.#headers = h
    }
    return this.#headers
  }

  respond(payload?: Payload, opts?: PublishOptions): boolean {
    if (!this.reply) return false
    this.#nc.publish(this.reply, payload, opts)
    return true
  }

  json<T>(reviver?: (this: unknown, key: string, value: unknown) => unknown): T {
    return JSON.parse(this.string(), reviver) as T
  }

  string(): string {
    return decoder.decode(this.data)
  }
}

/** Whether dispatch may skip the rate check of `msg` (a lane reader took its tokens). */
export const prepaid = (msg: Msg): boolean => msg instanceof LaneMsg && msg.prepaid
