/**
 * The `fetch` both SDK providers hand their client (the SDKs take one as an option): requests
 * over `node:http`/`node:https` with keep-alive agents (no socket limit: a thousand turns
 * waiting on a model hold a thousand sockets, as they would with the SDKs' default fetch),
 * instead of Node's built-in fetch (undici), whose WHATWG plumbing (Request, header lists,
 * web streams, a WASM parser) cost about twice the CPU per call against a local server:
 * 0.43 ms against 0.22 ms per call, server included, measured on the machine that runs the
 * llm-swarm bench, where a node's CPU per turn is what keeps a swarm from its ideal rate.
 *
 * What the SDKs rely on, kept: the result is a standard `Response`; an aborted signal rejects
 * with an `AbortError` (the SDKs' timeouts and our handlers' signals both abort); a refused
 * connection rejects with a `TypeError` (the SDKs call it a connection error). A JSON answer
 * is read whole before the `Response` is made (the SDK would read it whole at once anyway,
 * and the timeout then covers the body too), and read from those bytes without a web stream
 * (buffered-response.ts); an event stream is handed on as a stream.
 * Bodies other than text or bytes (the SDKs send JSON text for chat) go to the built-in fetch.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http"
import { Agent as HttpsAgent, request as httpsRequest } from "node:https"
import { Readable } from "node:stream"
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib"
import { bufferedResponse } from "./buffered-response.ts"

// No cap on sockets, busy or free: Node's default keeps at most 256 free ones, so when a thousand answers land
// together the rest are closed and the next thousand calls open new connections.
const pool = { keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity }
const agents = { http: new HttpAgent(pool), https: new HttpsAgent(pool) }

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason
  if (reason instanceof Error && reason.name === "AbortError") return reason
  return new DOMException(reason instanceof Error ? reason.message : "This operation was aborted", "AbortError")
}

function headerRecord(h: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {}
  if (h === undefined || h === null) return out
  if (h instanceof Headers) h.forEach((v, k) => (out[k] = v))
  else if (Array.isArray(h)) for (const [k, v] of h) out[k.toLowerCase()] = v
  else for (const k of Object.keys(h)) out[k.toLowerCase()] = (h as Record<string, string>)[k]
  return out
}

/** The body decoded as the server encoded it (a server may compress when asked). */
function decoded(res: IncomingMessage): Readable {
  switch ((res.headers["content-encoding"] ?? "").toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return res.pipe(createGunzip())
    case "deflate":
      return res.pipe(createInflate())
    case "br":
      return res.pipe(createBrotliDecompress())
    default:
      return res
  }
}

function responseHeaders(res: IncomingMessage, compressed: boolean): Headers {
  const h = new Headers()
  const raw = res.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase()
    // the body handed on is decoded: its length and encoding headers no longer describe it
    if (compressed && (k === "content-encoding" || k === "content-length")) continue
    h.append(raw[i], raw[i + 1])
  }
  return h
}

/** A `fetch` over node:http with keep-alive; see the module comment. */
export const httpFetch: typeof fetch = (input, init = {}) => {
  const body = init.body
  const textual = body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array
  if (!textual || (typeof input !== "string" && !(input instanceof URL))) return fetch(input, init)
  const url = typeof input === "string" ? new URL(input) : input
  const signal = init.signal ?? undefined
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal))
    const headers = headerRecord(init.headers)
    if (body !== undefined && body !== null) headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength)
    const method = (init.method ?? "GET").toUpperCase()
    const secure = url.protocol === "https:"
    const options: RequestOptions = { method, headers, agent: secure ? agents.https : agents.http }
    let settled = false
    let res: IncomingMessage | undefined
    const onAbort = () => {
      const e = abortError(signal!)
      req.destroy(e)
      res?.destroy(e)
      if (!settled) {
        settled = true
        reject(e)
      }
    }
    const done = () => signal?.removeEventListener("abort", onAbort)
    const fail = (e: Error) => {
      done()
      if (settled) return
      settled = true
      reject(signal?.aborted ? abortError(signal) : new TypeError(`fetch failed: ${e.message}`, { cause: e }))
    }
    const req = (secure ? httpsRequest : httpRequest)(url, options, (r) => {
      res = r
      const status = r.statusCode ?? 0
      const compressed = (r.headers["content-encoding"] ?? "identity") !== "identity"
      const meta = { status, statusText: r.statusMessage ?? "", headers: responseHeaders(r, compressed) }
      const empty = method === "HEAD" || status === 204 || status === 304
      const stream = /^text\/event-stream/i.test(r.headers["content-type"] ?? "")
      const source = decoded(r)
      if (empty || stream) {
        settled = true
        if (empty) {
          r.resume()
          done()
          return resolve(new Response(null, meta))
        }
        source.once("close", done)
        source.once("error", done)
        return resolve(new Response(Readable.toWeb(source) as ReadableStream<Uint8Array>, meta))
      }
      const chunks: Buffer[] = []
      source.on("data", (c: Buffer) => chunks.push(c))
      source.once("error", fail)
      source.once("end", () => {
        done()
        if (settled) return
        settled = true
        resolve(bufferedResponse(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), meta))
      })
    })
    req.once("error", fail)
    signal?.addEventListener("abort", onAbort, { once: true })
    req.end(body ?? undefined)
  })
}
