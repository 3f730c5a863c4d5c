/**
 * The sandbox's pool, levels and limits: warm isolates are reused per tenant and module, never
 * across tenants; the caps hold; inputs are checked; the levels give what their table says.
 */
import { afterEach, describe, expect, it } from "vitest"
import { createSandbox, requirePeer, resolveLimits, SANDBOX_LEVELS, type Sandbox } from "../../runtime/sandbox/mod.ts"

const ADD = `export default async ({ a, b }) => a + b`
let sandbox: Sandbox | undefined

afterEach(async () => {
  await sandbox?.close()
  sandbox = undefined
})

describe("sandbox", () => {
  it("sandbox - runs a JSON tool and keeps its isolate warm for the next run of the same tenant", async () => {
    sandbox = createSandbox()
    await expect(sandbox.run({ tenant: "t1", level: "restricted", source: ADD, args: { a: 1, b: 2 } })).resolves.toBe(3)
    await expect(sandbox.run({ tenant: "t1", level: "restricted", source: ADD, args: { a: 5, b: 5 } })).resolves.toBe(10)
    expect(sandbox.stats()).toMatchObject({ isolates: 1, created: 1, runs: 2, succeeded: 2, tenants: 1 })
  })

  it("sandbox - never shares an isolate between tenants", async () => {
    sandbox = createSandbox()
    await sandbox.run({ tenant: "t1", level: "restricted", source: ADD, args: { a: 1, b: 1 } })
    await sandbox.run({ tenant: "t2", level: "restricted", source: ADD, args: { a: 1, b: 1 } })
    expect(sandbox.stats()).toMatchObject({ isolates: 2, created: 2, tenants: 2 })
  })

  it("sandbox - a named export is called when `entry` says so; a missing one is invalid_module", async () => {
    sandbox = createSandbox()
    const source = `export async function Double(n) { return n * 2 }\nexport default async () => "default"`
    await expect(sandbox.run({ tenant: "t", level: "restricted", source, args: 21, entry: "Double" })).resolves.toBe(42)
    await expect(sandbox.run({ tenant: "t", level: "restricted", source, args: null })).resolves.toBe("default")
    await expect(sandbox.run({ tenant: "t", level: "restricted", source, args: null, entry: "Missing" })).rejects.toMatchObject({ _tag: "SandboxError", code: "invalid_module" })
    await expect(sandbox.run({ tenant: "t", level: "restricted", source: `export default 42`, args: null })).rejects.toMatchObject({ code: "invalid_module" })
    await expect(sandbox.run({ tenant: "t", level: "restricted", source: `export default async (} =>`, args: null })).rejects.toMatchObject({ code: "invalid_module" })
    // the module's isolate stayed warm through the refusals of its missing export
    expect(sandbox.stats().created).toBeLessThanOrEqual(3)
  })

  it("sandbox - a tenant's isolates are capped; runs beyond wait for one and all answer", async () => {
    sandbox = createSandbox({ maxIsolatesPerTenant: 2 })
    const slow = `export default async (n) => { let x = 0; for (let i = 0; i < 2e5; i++) x += i % 7; return n }`
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => sandbox!.run({ tenant: "busy", level: "restricted", source: slow, args: i })))
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(sandbox.stats().isolates).toBeLessThanOrEqual(2)
    expect(sandbox.stats().created).toBeLessThanOrEqual(2)
  })

  it("sandbox - a full queue answers unavailable", async () => {
    sandbox = createSandbox({ maxIsolatesPerTenant: 1, maxQueuedPerTenant: 1 })
    const wait = `export default () => new Promise(() => {})`
    const first = sandbox.run({ tenant: "q", level: "restricted", source: wait, args: null, limits: { wallMs: 2_000 } })
    const second = sandbox.run({ tenant: "q", level: "restricted", source: ADD, args: { a: 1, b: 1 } })
    await expect(sandbox.run({ tenant: "q", level: "restricted", source: ADD, args: { a: 1, b: 1 } })).rejects.toMatchObject({ code: "unavailable" })
    await expect(first).rejects.toMatchObject({ code: "wall_limit" })
    await expect(second).resolves.toBe(2)
  })

  it("sandbox - with room for one isolate in all, tenants take turns and the idle one is evicted", async () => {
    sandbox = createSandbox({ maxIsolates: 1 })
    await expect(sandbox.run({ tenant: "a", level: "restricted", source: ADD, args: { a: 1, b: 0 } })).resolves.toBe(1)
    await expect(sandbox.run({ tenant: "b", level: "restricted", source: ADD, args: { a: 2, b: 0 } })).resolves.toBe(2)
    expect(sandbox.stats()).toMatchObject({ isolates: 1, created: 2, disposed: 1 })
  })

  it("sandbox - an isolate whose run left host calls pending is not reused", async () => {
    sandbox = createSandbox()
    const source = `export default async () => { setTimeout(() => { for (;;) {} }, 50); return "returned" }`
    await expect(sandbox.run({ tenant: "bg", level: "moderate", source, args: null })).resolves.toBe("returned")
    expect(sandbox.stats()).toMatchObject({ isolates: 0, disposed: 1 })
  })

  it("sandbox - input is checked before anything runs", async () => {
    sandbox = createSandbox()
    await expect(sandbox.run({ tenant: "a.b", level: "restricted", source: ADD, args: null })).rejects.toThrow(/tenant must be a token/)
    await expect(sandbox.run({ tenant: "a", level: "root" as never, source: ADD, args: null })).rejects.toThrow(/level must be one of restricted, moderate, permissive/)
    await expect(sandbox.run({ tenant: "a", level: "restricted", source: ADD, args: null, limits: { cpuMs: -1 } })).rejects.toThrow(/limits.cpuMs must be a positive number/)
    await expect(sandbox.run({ tenant: "a", level: "restricted", source: ADD, args: null, fetchAllow: ["ftp://x"] })).rejects.toThrow(/not http or https/)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(sandbox.run({ tenant: "a", level: "restricted", source: ADD, args: cyclic })).rejects.toMatchObject({ code: "not_json" })
    expect(sandbox.stats().created).toBe(0)
  })

  it("sandbox - levels give what their table lists", async () => {
    sandbox = createSandbox()
    const probe = `export default async () => ["fetch", "env", "console", "setTimeout", "TextEncoder", "atob", "crypto", "WebAssembly", "SharedArrayBuffer"].filter((n) => typeof globalThis[n] !== "undefined")`
    await expect(sandbox.run({ tenant: "l", level: "restricted", source: probe, args: null })).resolves.toEqual(["fetch", "env"])
    await expect(sandbox.run({ tenant: "l", level: "moderate", source: probe, args: null })).resolves.toEqual(["fetch", "env", "console", "setTimeout", "TextEncoder", "atob", "crypto"])
    await expect(sandbox.run({ tenant: "l", level: "permissive", source: probe, args: null })).resolves.toEqual(["fetch", "env", "console", "setTimeout", "TextEncoder", "atob", "crypto", "WebAssembly", "SharedArrayBuffer"])
    const helpers = `export default async () => [btoa("hi"), atob("aGk="), new TextDecoder().decode(new TextEncoder().encode("héllo")), /^[0-9a-f-]{36}$/.test(crypto.randomUUID()), await new Promise((r) => setTimeout(() => r("timer"), 5))]`
    await expect(sandbox.run({ tenant: "l", level: "moderate", source: helpers, args: null })).resolves.toEqual(["aGk=", "hi", "héllo", true, "timer"])
  })

  it("sandbox - limits default to the level's and stay under the ceilings", () => {
    expect(resolveLimits("restricted", undefined)).toEqual(SANDBOX_LEVELS.restricted.limits)
    expect(SANDBOX_LEVELS.restricted.limits.wallMs).toBe(30_000)
    expect(SANDBOX_LEVELS.moderate.limits.wallMs).toBe(60_000)
    expect(resolveLimits("moderate", { memoryMb: 2 }).memoryMb).toBe(8)
    expect(() => resolveLimits("restricted", { wallMs: 10_000_000 })).toThrow(/at most/)
  })

  it("sandbox - a closed sandbox answers unavailable and ends the runs in flight", async () => {
    sandbox = createSandbox()
    const pending = sandbox.run({ tenant: "c", level: "restricted", source: `export default () => new Promise(() => {})`, args: null })
    await new Promise((r) => setTimeout(r, 200))
    await sandbox.close()
    await expect(pending).rejects.toMatchObject({ code: "unavailable" })
    await expect(sandbox.run({ tenant: "c", level: "restricted", source: ADD, args: { a: 1, b: 1 } })).rejects.toMatchObject({ code: "unavailable" })
  })

  it("sandbox - a missing isolated-vm is unavailable with the install hint", () => {
    expect(() => requirePeer("isolated-vm-not-installed")).toThrow(/npm install isolated-vm.*--no-node-snapshot/)
  })
})
