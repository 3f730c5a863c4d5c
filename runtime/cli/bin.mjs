#!/usr/bin/env node
// The `ants` command. It runs the built JavaScript in dist/ (which mirrors the repository, so the
// CLI's entry is dist/runtime/cli/main.js): an installed package holds only dist/. In a developer
// checkout the TypeScript sources run through tsx instead whenever dist/ is missing or older than
// a file it was built from (dist/build-stamp.json lists them), so an edit never runs stale code,
// and whenever an argument names a TypeScript file (`--agents ./my-agents.ts`), which imports the
// sources: one copy of the runtime per process. With built code, tsx is registered only for such
// an argument, after the CLI has loaded: it costs a second or more.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../", import.meta.url))
const source = new URL("./main.ts", import.meta.url)
const built = new URL("../../dist/runtime/cli/main.js", import.meta.url)
const stampFile = new URL("../../dist/build-stamp.json", import.meta.url)

/** True when no input of the last build changed after it started. */
function fresh() {
  if (!existsSync(built) || !existsSync(stampFile)) return false
  const since = statSync(stampFile).mtimeMs
  const newer = (path) => {
    const st = statSync(path, { throwIfNoEntry: false })
    if (!st) return false
    if (st.mtimeMs > since) return true
    return st.isDirectory() && readdirSync(path).some((name) => newer(`${path}/${name}`))
  }
  const { inputs } = JSON.parse(readFileSync(stampFile, "utf8"))
  return !inputs.some((input) => newer(`${root}${input}`))
}

const typescriptArg = process.argv.slice(2).some((arg) => /\.[cm]?tsx?$/.test(arg))
const useBuilt = !existsSync(source) || (!typescriptArg && fresh())
const registerTsx = async () => (await import("tsx/esm/api")).register()

if (!useBuilt) await registerTsx()
const { main } = await import((useBuilt ? built : source).href)
if (useBuilt && typescriptArg) await registerTsx()
const code = await main(process.argv.slice(2))
if (typeof code === "number") process.exitCode = code
