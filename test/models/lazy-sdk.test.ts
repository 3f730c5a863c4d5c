/**
 * The model SDKs are loaded when a provider of theirs makes its first call, not when the node's
 * code is imported: a node on the offline provider (the Quick start's) or on one SDK never
 * loads the other (openai and @anthropic-ai/sdk were about 430 of 1,320 modules and a fifth of a
 * node's import time). The providers' calls through both SDKs are tested in providers.test.ts.
 */
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"

const ROOT = new URL("../../", import.meta.url).pathname
const PROBE = new URL("./fixtures/loaded-modules.mjs", import.meta.url).pathname

function modulesLoadedBy(entry: string): string[] {
  const r = spawnSync(process.execPath, ["--import", "tsx", PROBE, `${ROOT}${entry}`], { cwd: ROOT, encoding: "utf8", timeout: 60_000 })
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as string[]
}

describe("model SDKs load lazily", () => {
  it("models - importing the node, the models layer and the memory layer loads neither openai nor @anthropic-ai/sdk", () => {
    for (const entry of ["runtime/node/node.ts", "runtime/models/mod.ts", "runtime/memory/mod.ts"]) {
      const loaded = modulesLoadedBy(entry)
      expect(loaded.some((u) => u.includes("/runtime/")), `${entry} itself was loaded`).toBe(true)
      expect(loaded.filter((u) => /node_modules\/(openai|@anthropic-ai\/sdk)\//.test(u)), entry).toEqual([])
    }
  }, 120_000)
})
