/**
 * The `fetch` a sandbox sees runs here, in the host, with Node's fetch: the code hands over a URL
 * and a JSON init, and gets back a JSON response (status, headers, body text). Every hop is
 * checked against the run's allow-list of origins: the first URL and each redirect, which are
 * followed by hand (`redirect: "manual"`) so a redirect out of the list is refused before it is
 * requested. Bodies are read up to the level's cap; requests per run are counted; everything
 * is aborted when the run ends. A refused URL is recorded on the run, which then fails with
 * `fetch_denied` even if the code caught the error: probing the network is itself the breach.
 */
import type { FetchLimits } from "./levels.ts"
import { SandboxError } from "./sandbox-error.ts"

/** What one run's fetches share. */
export interface FetchScope {
  /** Allowed origins, normalized (`new URL(o).origin`). */
  readonly allow: ReadonlySet<string>
  readonly limits: FetchLimits
  /** Aborted when the run ends. */
  readonly signal: AbortSignal
  requests: number
  /** The first refusal, which fails the run. */
  denied: SandboxError | undefined
}

/** Normalizes an allow-list; throws a RangeError naming an entry that is not an http(s) origin. */
export function allowedOrigins(list: ReadonlyArray<string> | undefined): ReadonlySet<string> {
  const out = new Set<string>()
  for (const entry of list ?? []) {
    let url: URL
    try {
      url = new URL(entry)
    } catch {
      throw new RangeError(`fetchAllow: "${entry}" is not an origin (scheme://host[:port])`)
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new RangeError(`fetchAllow: "${entry}" is not http or https`)
    out.add(url.origin)
  }
  return out
}

interface InitJson {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: string
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

function parseInit(json: unknown): InitJson {
  if (typeof json !== "string") throw new TypeError("fetch init must be JSON text")
  const init = JSON.parse(json) as InitJson | null
  if (init === null || typeof init !== "object") return {}
  const headers: Record<string, string> = {}
  if (init.headers !== undefined) {
    if (typeof init.headers !== "object" || init.headers === null) throw new TypeError("fetch init.headers must be an object of strings")
    for (const [k, v] of Object.entries(init.headers)) headers[k] = String(v)
  }
  const method = init.method === undefined ? "GET" : String(init.method).toUpperCase()
  if (init.body !== undefined && typeof init.body !== "string") throw new TypeError("fetch init.body must be a string")
  return { method, headers, body: init.body }
}

function deny(scope: FetchScope, url: string, why: string): never {
  const e = new SandboxError("fetch_denied", `fetch of ${url} refused: ${why}`)
  scope.denied ??= e
  throw e
}

async function readCapped(res: Response, max: number, signal: AbortSignal): Promise<string> {
  const declared = Number(res.headers.get("content-length"))
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {})
    throw new RangeError(`fetch response of ${declared} bytes is over the limit of ${max}`)
  }
  if (!res.body) return ""
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    if (signal.aborted) throw new Error("the run ended")
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > max) {
      await reader.cancel().catch(() => {})
      throw new RangeError(`fetch response is over the limit of ${max} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, total).toString("utf8")
}

/**
 * One fetch of the code: `url` and `initJson` as the isolate sent them (strings only, anything
 * else is refused). Resolves to the response as JSON text.
 */
export async function hostFetch(scope: FetchScope, urlArg: unknown, initJson: unknown): Promise<string> {
  if (typeof urlArg !== "string") throw new TypeError("fetch takes a URL string")
  const init = parseInit(initJson)
  let url: URL
  try {
    url = new URL(urlArg)
  } catch {
    throw new TypeError(`fetch: invalid URL ${JSON.stringify(urlArg.slice(0, 200))}`)
  }
  let method = init.method ?? "GET"
  let body = init.body
  for (let hop = 0; hop <= scope.limits.maxRedirects; hop++) {
    if (url.protocol !== "http:" && url.protocol !== "https:") deny(scope, url.href, `only http and https may be fetched`)
    if (!scope.allow.has(url.origin)) deny(scope, url.href, scope.allow.size === 0 ? "this run may not fetch at all (empty allow-list)" : `${url.origin} is not in the allow-list (${[...scope.allow].join(", ")})`)
    if (++scope.requests > scope.limits.maxRequests) throw new RangeError(`fetch: more than ${scope.limits.maxRequests} requests in one run`)
    const res = await fetch(url, { method, headers: init.headers, body, redirect: "manual", signal: scope.signal })
    const location = res.headers.get("location")
    if (REDIRECTS.has(res.status) && location !== null) {
      await res.body?.cancel().catch(() => {})
      url = new URL(location, url)
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET"
        body = undefined
      }
      continue
    }
    const text = await readCapped(res, scope.limits.maxResponseBytes, scope.signal)
    return JSON.stringify({ url: url.href, status: res.status, statusText: res.statusText, headers: [...res.headers], body: text })
  }
  throw new RangeError(`fetch: more than ${scope.limits.maxRedirects} redirects`)
}
