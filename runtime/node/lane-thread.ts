/**
 * The connections inbound lanes (inbound-lanes.ts) read partitions on, behind one interface
 * (`LaneLink`): the node's main connection, a connection of its own on the main thread, or a
 * reader thread (lane-reader.ts) whose connection lives in a worker thread.
 *
 * A reader thread's messages come back in batches, and each batch is dispatched in an
 * event-loop turn of its own (the node's other connections are read in between, as between two
 * read slices of a paced connection), then acknowledged, so the reader stops reading while the
 * main thread is behind. What the reader refused for their rate is accounted for by
 * `LaneAdmission.refused`; its requests for rate tokens are answered at once by
 * `LaneAdmission.grant`, from the node's own buckets.
 */
import { Worker } from "node:worker_threads"
import type { Msg, NatsConnection, ServerInfo } from "@nats-io/nats-core"
import { partitionQueue, partitionSubscription } from "../../subjects/grammar.ts"
import { holdReads } from "../client/paced-reads.ts"
import type { Credentials } from "../security/connection-options.ts"
import type { ConnectionView } from "../cluster/gone-check.ts"
import { watchConnection } from "../cluster/out-of-touch.ts"
import { LaneMsg } from "./lane-msg.ts"
import type { FromReader, LaneThreadData, Refused, ToReader } from "./lane-protocol.ts"


export interface LaneSub {
  drain(): Promise<void>
  unsubscribe(): void
}

export interface LaneLink {
  readonly name: string
  subscribe(p: number, callback: (m: Msg) => void): LaneSub
  /** Resolves once the server has seen the subscriptions made so far. */
  flush(): Promise<void>
  /** Stops reading until the returned function is called. */
  hold(): () => void
  readonly view: ConnectionView
  /** Calls `listener` when the connection goes down or comes back (`up`). */
  onStatus(listener: (up: boolean) => void): void
  /** Messages its reader thread refused for their rate so far (0 for a connection of the main thread). */
  refused(): number
  /** Calls `listener` if the link ends without `close` (a reader thread that died): its subscriptions are gone. */
  onLost(listener: (why: string) => void): void
  close(): Promise<void>
}

/** How the node admits what a reader thread reads (set once the node's dispatch exists). */
export interface LaneAdmission {
  /** Rate tokens for an actor: taken from the node's buckets; none: why, and for how long to refuse; -1: check on the main thread. */
  grant(key: string, tenant: string): { readonly n: number; readonly retryMs: number; readonly reason: string; readonly answer?: Uint8Array }
  /** Messages the reader refused for their rate (answered there when they were asks). */
  refused(rows: readonly Refused[]): void
}

/** A NATS connection of the main thread as a lane link. */
export function natsLink(nc: NatsConnection, name: string): LaneLink {
  return {
    name,
    subscribe: (p, callback) => nc.subscribe(partitionSubscription(p), { queue: partitionQueue(p), callback: (_e, m) => callback(m) }),
    flush: () => nc.flush(),
    hold: () => holdReads(nc),
    view: nc,
    onStatus: (listener) => watchConnection(nc, (_c, up) => listener(up), () => false),
    refused: () => 0,
    onLost: () => undefined,
    close: () => nc.close(),
  }
}

const readerBootstrap = new URL("./lane-worker.mjs", import.meta.url)
const readerModule = new URL(`./lane-reader${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href

export interface LaneThreadOptions {
  readonly servers: string
  readonly credentials: Credentials
  readonly name: string
  /** Where replies of the messages it passes on are published (the node's main connection). */
  readonly replies: NatsConnection
  readonly admission: () => LaneAdmission | undefined
}

/** Starts a reader thread; resolves once its connection is up, rejects when it cannot connect. */
export function startLaneThread(o: LaneThreadOptions): Promise<LaneLink> {
  const data: LaneThreadData = { module: readerModule, servers: o.servers, name: o.name, credentials: o.credentials }
  const worker = new Worker(readerBootstrap, { workerData: data })
  const send = (m: ToReader) => worker.postMessage(m)
  const callbacks = new Map<number, (m: Msg) => void>()
  const waits = new Map<string, () => void>()
  const listeners: Array<(up: boolean) => void> = []
  const lost: Array<(why: string) => void> = []
  let closing = false
  let nextSub = 0
  let refused = 0
  let nextFlush = 0
  let info: ServerInfo | undefined
  let closed = false
  let opened: ((link: LaneLink) => void) | undefined
  let failed: ((e: Error) => void) | undefined

  // batches and the answers that must follow them, one per event-loop turn
  const queue: FromReader[] = []
  let pumping = false
  const pump = () => {
    const m = queue.shift()
    if (m === undefined) {
      pumping = false
      return
    }
    handle(m)
    if (queue.length > 0) setImmediate(pump)
    else pumping = false
  }
  const handle = (m: FromReader) => {
    if (m.op === "batch") {
      for (const [sub, subject, reply, body, headers, paid] of m.msgs) callbacks.get(sub)?.(new LaneMsg(sub, subject, reply, body, headers, paid, o.replies))
      if (m.refused.length > 0) {
        for (const r of m.refused) refused += r[2]
        o.admission()?.refused(m.refused)
      }
      send({ op: "ack", n: m.msgs.length })
    } else if (m.op === "drained") {
      callbacks.delete(m.sub)
      waits.get(`d${m.sub}`)?.()
    } else if (m.op === "flushed") waits.get(`f${m.id}`)?.()
  }
  const wait = (key: string) =>
    new Promise<void>((resolve) => {
      waits.set(key, () => {
        waits.delete(key)
        resolve()
      })
    })

  const link: LaneLink = {
    name: o.name,
    subscribe(p, callback) {
      const sub = ++nextSub
      callbacks.set(sub, callback)
      send({ op: "sub", sub, p })
      const gone = (op: "drain" | "unsub") => {
        if (closed) return Promise.resolve()
        const done = wait(`d${sub}`)
        send({ op, sub })
        return done
      }
      return { drain: () => gone("drain"), unsubscribe: () => void gone("unsub") }
    },
    flush() {
      if (closed) return Promise.resolve()
      const id = ++nextFlush
      const done = wait(`f${id}`)
      send({ op: "flush", id })
      return done
    },
    hold() {
      send({ op: "hold" })
      let released = false
      return () => {
        if (released || closed) return
        released = true
        send({ op: "release" })
      }
    },
    view: { isClosed: () => closed, get info() { return info } } as ConnectionView,
    onStatus: (listener) => void listeners.push(listener),
    refused: () => refused,
    onLost: (listener) => void lost.push(listener),
    async close() {
      if (closed) return
      closing = true
      const done = new Promise<void>((resolve) => worker.once("exit", () => resolve()))
      send({ op: "close" })
      const timer = setTimeout(() => void worker.terminate(), 5_000)
      await done
      clearTimeout(timer)
    },
  }

  worker.on("message", (m: FromReader) => {
    switch (m.op) {
      case "want": {
        const a = o.admission()
        const g = a === undefined ? { n: -1, retryMs: 0, reason: "" } : a.grant(m.key, m.tenant)
        send({ op: "grant", key: m.key, ...g })
        return
      }
      case "status":
        if (m.info !== undefined) info = { ...(info ?? {}), ...m.info } as ServerInfo
        if (opened !== undefined) {
          opened(link)
          opened = undefined
          failed = undefined
        } else for (const l of listeners) l(m.up)
        return
      case "failed":
        failed?.(new Error(m.error))
        return
      default:
        queue.push(m)
        if (!pumping) {
          pumping = true
          setImmediate(pump)
        }
    }
  })
  let error: Error | undefined
  worker.on("error", (e) => {
    error = e
    failed?.(e)
  })
  worker.on("exit", (code) => {
    closed = true
    // nothing more comes: whoever waits for a drain or a flush goes on
    for (const w of [...waits.values()]) w()
    failed?.(error ?? new Error(`the reader thread exited with code ${code}`))
    if (!closing && opened === undefined) for (const l of lost) l(error?.message ?? `exit code ${code}`)
  })
  return new Promise<LaneLink>((resolve, reject) => {
    opened = resolve
    failed = reject
  })
}
