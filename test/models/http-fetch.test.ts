/**
 * The providers' fetch over node:http (runtime/models/http-fetch.ts), against local HTTP
 * servers: what the SDKs rely on from a fetch, and a provider through the real `openai` SDK
 * when nothing listens.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { httpFetch } from "../../runtime/models/http-fetch.ts"
import { openaiProvider } from "../../runtime/models/openai-provider.ts"

describe("http fetch", () => {
  let server: Server
  let url: string
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8")
        if (req.url === "/gzip") {
          res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end(gzipSync(JSON.stringify({ echo: body, method: req.method })))
        } else if (req.url === "/stream") {
          res.writeHead(200, { "content-type": "text/event-stream" })
          res.write("data: one\n\n")
          // the rest never comes: the caller aborts
        } else if (req.url === "/empty") {
          res.writeHead(204).end()
        } else {
          res.writeHead(201, { "content-type": "application/json", "x-a": "1", "set-cookie": ["a=1", "b=2"] }).end(JSON.stringify({ echo: body, type: req.headers["content-type"], method: req.method }))
        }
      })
    })
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((ok) => server.close(ok))
  })

  it("http fetch - posts a body with its headers and gives a standard Response (status, headers, JSON)", async () => {
    const r = await httpFetch(`${url}/x`, { method: "post", body: '{"a":1}', headers: new Headers({ "Content-Type": "application/json" }) })
    expect(r).toBeInstanceOf(Response)
    expect(r.status).toBe(201)
    expect(r.ok).toBe(true)
    expect(r.headers.get("x-a")).toBe("1")
    expect(await r.json()).toEqual({ echo: '{"a":1}', type: "application/json", method: "POST" })
    const e = await httpFetch(`${url}/empty`)
    expect(e.status).toBe(204)
    expect(await e.text()).toBe("")
  })

  it("http fetch - a compressed answer is decoded", async () => {
    const r = await httpFetch(`${url}/gzip`, { method: "POST", body: "zip" })
    expect(r.headers.get("content-encoding")).toBeNull()
    expect(await r.json()).toEqual({ echo: "zip", method: "POST" })
  })

  it("http fetch - an event stream is handed on as it comes, and an abort ends it with an AbortError", async () => {
    const ac = new AbortController()
    const r = await httpFetch(`${url}/stream`, { signal: ac.signal })
    const reader = r.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toBe("data: one\n\n")
    const next = reader.read()
    ac.abort()
    await expect(next).rejects.toMatchObject({ name: "AbortError" })
    await expect(httpFetch(`${url}/x`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" })
  })

  it("http fetch - nothing listening is a TypeError, which the SDK makes a connection error (kind server)", async () => {
    const closed = createServer()
    await new Promise<void>((ok) => closed.listen(0, "127.0.0.1", ok))
    const port = (closed.address() as AddressInfo).port
    await new Promise((ok) => closed.close(ok))
    await expect(httpFetch(`http://127.0.0.1:${port}/`)).rejects.toBeInstanceOf(TypeError)
    const p = openaiProvider({ name: "gone", baseURL: `http://127.0.0.1:${port}/v1` })
    await expect(p.call("m", { messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ _tag: "ProviderError", kind: "server" })
  })
})
