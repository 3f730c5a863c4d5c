/**
 * A small OTLP/HTTP receiver for tests: a node:http server that keeps every POST it gets (path,
 * content type, body), and decodes `http/json` trace exports into flat spans. Protobuf bodies
 * are kept as bytes (their content type and size are what tests check).
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"

export interface ReceivedPost {
  readonly path: string
  readonly contentType: string
  readonly body: Buffer
}

/** One span of an OTLP JSON export, flattened. */
export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly kind: number
  readonly service: string | undefined
  readonly attributes: Record<string, unknown>
  readonly status: { code?: number; message?: string }
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>` (the OTLP base endpoint; traces go to `/v1/traces`). */
  readonly url: string
  readonly posts: ReceivedPost[]
  /** Spans of every JSON export received so far. */
  spans(): ReceivedSpan[]
  close(): Promise<void>
}

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number }
const valueOf = (v: AnyValue): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue
const attrs = (list: Array<{ key: string; value: AnyValue }> | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]))

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const posts: ReceivedPost[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      if (req.method === "POST") posts.push({ path: req.url ?? "/", contentType: req.headers["content-type"] ?? "", body: Buffer.concat(chunks) })
      const json = (req.headers["content-type"] ?? "").includes("json")
      res.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" })
      res.end(json ? "{}" : undefined)
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    spans() {
      const out: ReceivedSpan[] = []
      for (const p of posts) {
        if (!p.contentType.includes("json")) continue
        const body = JSON.parse(p.body.toString("utf8")) as { resourceSpans?: any[] }
        for (const rs of body.resourceSpans ?? []) {
          const service = attrs(rs.resource?.attributes)["service.name"] as string | undefined
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              out.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind, service, attributes: attrs(s.attributes), status: s.status ?? {} })
            }
          }
        }
      }
      return out
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
}
