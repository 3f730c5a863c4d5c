/**
 * The escape corpus: code that tries to leave the sandbox, starve the host or reach another
 * tenant. Each case runs in tenant "intruder" while a tenant "bystander" runs an honest tool in
 * the same sandbox at the same time; the case must end as listed (a value proving nothing was
 * reached, or the SandboxError code of the limit that stopped it), the bystander's answer must
 * be right, and the host must still answer afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createSandbox, type Sandbox, type SandboxLevel, type SandboxLimits } from "../../runtime/sandbox/mod.ts"
import { startRouteServer, type RouteServer } from "../helpers/route-server.ts"

interface Case {
  readonly name: string
  readonly source: string
  readonly level?: SandboxLevel
  readonly limits?: Partial<SandboxLimits>
  /** Origins the case may fetch: "allowed" is the test's allowed server. */
  readonly fetchAllow?: ReadonlyArray<"allowed">
  readonly env?: Record<string, string>
  /** The SandboxError code that must stop it, or the value it must return. */
  /** The SandboxError code expected (one of several where the case may meet either limit first). */
  readonly code?: string | ReadonlyArray<string>
  readonly value?: unknown
}

let allowed: RouteServer
let outside: RouteServer
let sandbox: Sandbox

beforeAll(async () => {
  outside = await startRouteServer({ "/secret": () => ({ body: JSON.stringify({ secret: "outside" }) }) })
  allowed = await startRouteServer({
    "/ok": (req) => ({ body: JSON.stringify({ auth: req.headers.authorization ?? null }) }),
    "/out": () => ({ status: 302, headers: { location: `${outside.origin}/secret` } }),
    "/again": () => ({ status: 307, headers: { location: "/ok" } }),
    "/big": () => ({ body: "x".repeat(2 * 1024 * 1024) }),
  })
  sandbox = createSandbox()
})

afterAll(async () => {
  await sandbox?.close()
  await allowed?.close()
  await outside?.close()
})

// a wall limit far above the CPU limit: on a loaded machine 300 ms of CPU can take seconds
const loop = { cpuMs: 300, wallMs: 60_000 }
const cases: ReadonlyArray<Case> = [
  { name: "process is not defined", source: `export default async () => typeof process`, value: "undefined" },
  { name: "require is not defined", source: `export default async () => typeof require + typeof module + typeof exports`, value: "undefinedundefinedundefined" },
  { name: "a static import is refused", source: `import fs from "fs"; export default async () => fs.readFileSync("/etc/passwd", "utf8")`, code: "invalid_module" },
  { name: "a node: import is refused", source: `import { execSync } from "node:child_process"; export default async () => execSync("id")`, code: "invalid_module" },
  { name: "dynamic import() is refused", source: `export default async () => (await import("fs")).readFileSync("/etc/passwd", "utf8")`, code: "thrown" },
  { name: "dynamic import() of a data: URL is refused", source: `export default async () => (await import("data:text/javascript,export default 1")).default`, code: "thrown" },
  {
    name: "the Function constructor reaches only the isolate's global",
    source: `export default async () => { const g = (() => {}).constructor("return this")(); return [typeof g.process, typeof g.require, typeof g.global, Object.keys(g).filter((k) => !["fetch", "Headers"].includes(k))] }`,
    value: ["undefined", "undefined", "undefined", []],
  },
  { name: "constructor chain to process throws", source: `export default async () => this.constructor.constructor("return process")().env`, code: "thrown" },
  {
    name: "async and generator function constructors reach nothing more",
    source: `export default async () => { const AF = (async () => {}).constructor; const GF = (function* () {}).constructor; const a = await AF("return typeof globalThis.process")(); const b = GF("yield typeof require")().next().value; return [a, b] }`,
    value: ["undefined", "undefined"],
  },
  { name: "eval sees no host", source: `export default async () => eval("typeof process + typeof require")`, value: "undefinedundefined" },
  {
    name: "Error.prepareStackTrace sees only sandbox frames",
    source: `export default async () => { Error.prepareStackTrace = (e, frames) => frames.map((f) => [typeof f.getThis(), String(f.getFileName())]); const stack = new Error("x").stack; return stack.every(([, file]) => !file.includes("node:") && !file.includes("/runtime/")) }`,
    value: true,
  },
  {
    name: "a host error's stack leaks no host path",
    fetchAllow: ["allowed"],
    source: `export default async () => { try { await fetch(__ALLOWED__ + "/big") } catch (e) { return [e.message.includes("over the limit"), ["/runtime/", "node:", "/work/"].some((p) => String(e.stack).includes(p))] } return "no error" }`,
    value: [true, false],
  },
  { name: "no timers at the restricted level", source: `export default async () => [typeof setTimeout, typeof setInterval, typeof setImmediate, typeof queueMicrotask === "function"]`, value: ["undefined", "undefined", "undefined", false] },
  { name: "no SharedArrayBuffer or Atomics at the restricted level", source: `export default async () => [typeof SharedArrayBuffer, typeof Atomics, typeof WebAssembly]`, value: ["undefined", "undefined", "undefined"] },
  { name: "Atomics.wait forever is stopped by the wall limit (permissive)", level: "permissive", limits: { wallMs: 500 }, source: `export default async () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)`, code: "wall_limit" },
  { name: "a synchronous infinite loop is stopped", limits: loop, source: `export default async () => { for (;;) {} }`, code: "cpu_limit" },
  { name: "an asynchronous infinite loop is stopped", limits: loop, source: `export default async () => { for (;;) await null }`, code: "cpu_limit" },
  // each callback queues the next and returns nothing: CPU only (returning the promise would chain
  // every pending one to the next, a memory bomb that meets the memory limit or the CPU one first)
  { name: "an endless promise chain is stopped", limits: loop, source: `export default () => new Promise(() => { const f = () => { Promise.resolve().then(f) }; f() })`, code: "cpu_limit" },
  { name: "an endless chain of promises each resolved with the next is stopped (memory or CPU, whichever comes first)", limits: loop, source: `export default () => new Promise(() => { const f = () => Promise.resolve().then(f); f() })`, code: ["cpu_limit", "memory_limit"] },
  { name: "a loop at the module's top level is stopped", limits: loop, source: `for (;;) {}\nexport default async () => 1`, code: "cpu_limit" },
  { name: "a loop inside toJSON of the result is stopped", limits: loop, source: `export default async () => ({ toJSON() { for (;;) {} } })`, code: "cpu_limit" },
  { name: "a promise that never settles is stopped by the wall limit", limits: { wallMs: 300 }, source: `export default () => new Promise(() => {})`, code: "wall_limit" },
  { name: "a timer loop is stopped by the wall limit (moderate)", level: "moderate", limits: { wallMs: 400 }, source: `export default () => new Promise(() => { const t = () => setTimeout(t, 1); t() })`, code: "wall_limit" },
  { name: "an array memory bomb is stopped", limits: { memoryMb: 16 }, source: `export default async () => { const a = []; for (;;) a.push({ i: a.length, s: "x" + a.length }) }`, code: "memory_limit" },
  { name: "a doubled-string memory bomb is stopped", limits: { memoryMb: 16 }, source: `export default async () => { let s = "xy"; const keep = []; for (;;) { s = s + s; keep.push(s.split("").reverse().join("")) } }`, code: "memory_limit" },
  { name: "a typed-array memory bomb is stopped", limits: { memoryMb: 16 }, source: `export default async () => { const keep = []; for (;;) keep.push(new Uint8Array(1024 * 1024).fill(1)) }`, code: "memory_limit" },
  { name: "deep recursion ends in a thrown RangeError", source: `export default async () => { const f = (n) => f(n + 1) + 1; return f(0) }`, code: "thrown" },
  { name: "a huge result is refused", source: `export default async () => "x".repeat(2 * 1024 * 1024)`, code: "result_too_large" },
  { name: "a result just over its byte limit (multi-byte) is refused", limits: { resultBytes: 1000 }, source: `export default async () => "é".repeat(600)`, code: "result_too_large" },
  { name: "a cyclic result is not JSON", source: `export default async () => { const a = {}; a.a = a; return a }`, code: "not_json" },
  { name: "a function result is not JSON", source: `export default async () => () => 1`, code: "not_json" },
  { name: "a BigInt result is not JSON", source: `export default async () => 1n`, code: "not_json" },
  { name: "a __proto__ key in the result is refused", source: `export default async () => JSON.parse('{"a":{"__proto__":{"polluted":true}}}')`, code: "not_json" },
  { name: "a constructor.prototype path in the result is refused", source: `export default async () => ({ constructor: { prototype: { polluted: true } } })`, code: "not_json" },
  { name: "a polluted prototype inside the isolate does not reach the host", source: `export default async () => { Object.prototype.polluted = true; Array.prototype.polluted = true; return { a: [1] } }`, value: { a: [1] } },
  { name: "fetch outside the allow-list is denied", fetchAllow: ["allowed"], source: `export default async () => (await fetch(__OUTSIDE__ + "/secret")).json()`, code: "fetch_denied" },
  { name: "fetch with an empty allow-list is denied", source: `export default async () => (await fetch(__ALLOWED__ + "/ok")).json()`, code: "fetch_denied" },
  { name: "a redirect out of the allow-list is denied", fetchAllow: ["allowed"], source: `export default async () => (await fetch(__ALLOWED__ + "/out")).json()`, code: "fetch_denied" },
  { name: "a denied fetch fails the run even when caught", fetchAllow: ["allowed"], source: `export default async () => { try { await fetch(__OUTSIDE__ + "/secret") } catch {} return "probed" }`, code: "fetch_denied" },
  { name: "fetch of a file: URL is denied", fetchAllow: ["allowed"], source: `export default async () => (await fetch("file:///etc/passwd")).text()`, code: "fetch_denied" },
  { name: "a response over the size cap fails the fetch", fetchAllow: ["allowed"], source: `export default async () => (await fetch(__ALLOWED__ + "/big")).text()`, code: "thrown" },
  {
    name: "an allowed fetch works, redirects inside the list are followed, env is sent",
    fetchAllow: ["allowed"],
    env: { TOKEN: "t-1" },
    source: `export default async (args, ctx) => { const r = await fetch(__ALLOWED__ + "/again", { headers: { authorization: "Bearer " + ctx.env.TOKEN } }); return [r.status, await r.json()] }`,
    value: [200, { auth: "Bearer t-1" }],
  },
  { name: "re-entrant host calls: a flood of fetches is capped", fetchAllow: ["allowed"], source: `export default async () => Promise.all(Array.from({ length: 200 }, () => fetch(__ALLOWED__ + "/ok")))`, code: "thrown" },
  { name: "re-entrant host calls: a URL whose toString loops is stopped inside the isolate", fetchAllow: ["allowed"], limits: loop, source: `export default async () => fetch({ toString() { for (;;) {} } })`, code: "cpu_limit" },
  {
    name: "a polluted Object.prototype changes nothing of the host calls",
    fetchAllow: ["allowed"],
    source: `export default async () => { Object.prototype.reference = true; Object.prototype.externalCopy = true; Object.prototype.timeout = 1; const r = await fetch(__ALLOWED__ + "/ok"); return r.status }`,
    value: 200,
  },
  { name: "env is read-only", env: { K: "v" }, source: `export default async () => { try { env.K = "changed" } catch {} ; try { globalThis.env = {} } catch {} ; return env.K }`, value: "v" },
]

function prepare(c: Case): string {
  return c.source.replaceAll("__ALLOWED__", JSON.stringify(allowed.origin)).replaceAll("__OUTSIDE__", JSON.stringify(outside.origin))
}

describe("sandbox escape corpus", () => {
  it("sandbox - the corpus has at least 30 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30)
  })

  it.each(cases.map((c, i) => [c.name, i] as const))("sandbox - %s", async (_name, i) => {
    const c = cases[i]
    const intruder = sandbox
      .run({
        tenant: "intruder",
        level: c.level ?? "restricted",
        source: prepare(c),
        args: { i },
        limits: c.limits,
        fetchAllow: c.fetchAllow?.map(() => allowed.origin),
        env: c.env,
      })
      .then(
        (value) => ({ value }),
        (error: { _tag?: string; code?: string; message?: string }) => ({ error }),
      )
    const bystander = sandbox.run({ tenant: "bystander", level: "restricted", source: `export default async ({ a, b }) => ({ sum: a + b })`, args: { a: i, b: 2 } })
    const [outcome, honest] = await Promise.all([intruder, bystander])
    expect(honest).toEqual({ sum: i + 2 })
    if (c.code !== undefined) {
      const codes: ReadonlyArray<string> = typeof c.code === "string" ? [c.code] : c.code
      const got = "error" in outcome ? { tag: outcome.error._tag, code: outcome.error.code } : outcome
      const code = "code" in got && codes.includes(String(got.code)) ? got.code : codes[0]
      expect(got, `expected one of ${codes.join(", ")}`).toEqual({ tag: "SandboxError", code })
    } else {
      expect(outcome).toEqual({ value: c.value })
    }
    // the host is healthy: its own prototypes are clean and a fresh run of another tenant answers
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(typeof process.env).toBe("object")
    await expect(sandbox.run({ tenant: "bystander", level: "restricted", source: `export default async () => "still here"`, args: null })).resolves.toBe("still here")
  })

  it("sandbox - one tenant cannot read another tenant's env or globals, even running the same source", async () => {
    const source = `export default async ({ stash }) => { if (stash) globalThis.stash = env.SECRET; return [env.SECRET ?? null, globalThis.stash ?? null] }`
    await expect(sandbox.run({ tenant: "alice", level: "restricted", source, args: { stash: true }, env: { SECRET: "alice-key" } })).resolves.toEqual(["alice-key", "alice-key"])
    await expect(sandbox.run({ tenant: "mallory", level: "restricted", source, args: { stash: false } })).resolves.toEqual([null, null])
    // alice's own warm isolate keeps her module's globals (like a warm worker), mallory's never had them
    await expect(sandbox.run({ tenant: "alice", level: "restricted", source, args: { stash: false }, env: {} })).resolves.toEqual([null, "alice-key"])
  })

  it("sandbox - a breached isolate is discarded, never reused", async () => {
    const source = `export default async ({ spin }) => { if (spin) for (;;) {} ; globalThis.n = (globalThis.n ?? 0) + 1; return globalThis.n }`
    await expect(sandbox.run({ tenant: "reuse", level: "restricted", source, args: { spin: false } })).resolves.toBe(1)
    await expect(sandbox.run({ tenant: "reuse", level: "restricted", source, args: { spin: false } })).resolves.toBe(2)
    await expect(sandbox.run({ tenant: "reuse", level: "restricted", source, args: { spin: true }, limits: loop })).rejects.toMatchObject({ code: "cpu_limit" })
    // a fresh isolate: its module's globals start again
    await expect(sandbox.run({ tenant: "reuse", level: "restricted", source, args: { spin: false } })).resolves.toBe(1)
  })
})
