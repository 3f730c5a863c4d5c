/**
 * What importing the runtime loads. Every process that imports it pays for each module it
 * reaches (a node, the CLI, a client program, each benchmark child), so the packages only some
 * processes use are loaded when first used (`import()`), not at start: the model SDKs (openai,
 * @anthropic-ai/sdk: at a provider's first call), the MCP SDK, Hono and the A2A SDK (the
 * gateway), and the OpenTelemetry SDK's provider and exporters (when tracing is switched on).
 * Effect is imported module by module (`effect/Schema`), never through its index, which loads
 * all of Effect. The providers' calls through both model SDKs are tested in
 * test/models/providers.test.ts, the gateway, MCP and tracing in their own folders.
 */
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"

const ROOT = new URL("../../", import.meta.url).pathname
const PROBE = new URL("./fixtures/loaded-modules.mjs", import.meta.url).pathname

/** Loaded only when first used: a path under node_modules that must not be loaded at start. */
const LAZY = /node_modules\/(openai|@anthropic-ai\/sdk|@modelcontextprotocol\/sdk|hono|@hono\/node-server|@a2a-js\/sdk|@opentelemetry\/(sdk-trace-node|exporter-trace-otlp-[a-z]+|resources))\/|node_modules\/effect\/dist\/esm\/index\.js/

/** The URL of every module loaded while `entry` is imported (in a process of its own, through tsx). */
function modulesLoadedBy(entry: string): string[] {
  const r = spawnSync(process.execPath, ["--import", "tsx", PROBE, `${ROOT}${entry}`], { cwd: ROOT, encoding: "utf8", timeout: 60_000 })
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as string[]
}

describe("start-up", () => {
  it("start-up - importing the runtime, or what `ants node` imports, loads no package that only some processes use", () => {
    for (const entry of ["runtime/index.ts", "runtime/cli/node-command.ts"]) {
      const loaded = modulesLoadedBy(entry)
      expect(loaded.some((u) => u.includes("/runtime/node/node.ts")), `${entry} loads the node`).toBe(true)
      expect(loaded.some((u) => u.includes("node_modules/effect/dist/esm/Schema.js")), `${entry} loads effect/Schema`).toBe(true)
      expect(loaded.filter((u) => LAZY.test(u)), entry).toEqual([])
    }
  }, 120_000)

  it("start-up - the gateway's module, loaded by the first createGateway, is where Hono and the A2A SDK come in", () => {
    const loaded = modulesLoadedBy("runtime/gateway/gateway-app.ts")
    expect(loaded.filter((u) => LAZY.test(u)).map((u) => u.replace(/.*node_modules\/((@[^/]+\/)?[^/]+)\/.*/, "$1"))).toEqual(expect.arrayContaining(["hono", "@hono/node-server", "@a2a-js/sdk"]))
  }, 60_000)
})
