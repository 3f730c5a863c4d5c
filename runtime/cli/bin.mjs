#!/usr/bin/env node
// The `ants` command. It runs the built JavaScript in dist/ (which mirrors the repository, so the
// CLI's entry is dist/runtime/cli/main.js). An installed package holds only dist/; in a developer
// checkout dist/ is used when `npm run build` is newer than every file it was built from (its
// build-stamp.json lists them), else the TypeScript sources run through tsx, so an edit never
// runs stale code. tsx is registered for built code only when an argument names a TypeScript
// file (an agents module such as `--agents ./my-agents.ts`): loading it costs a second or more.
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

const names = (arg) => /\.[cm]?tsx?$/.test(arg)
const useBuilt = !existsSync(source) || fresh()
const registerTsx = async () => (await import("tsx/esm/api")).register()

if (!useBuilt) await registerTsx()
const { main } = await import((useBuilt ? built : source).href)
if (useBuilt && process.argv.slice(2).some(names)) await registerTsx()
const code = await main(process.argv.slice(2))
if (typeof code === "number") process.exitCode = code
