#!/usr/bin/env node
/**
 * `npm run build`: compiles the published folders (tsconfig.build.json's `include`) to
 * JavaScript and declarations in dist/, which mirrors the repository's layout so that paths a
 * module computes from its own location (nats.conf, nats-cluster/, the nats-server watchdog, the
 * bench probes) hold in both. Steps:
 *   1. tsc into a fresh temporary folder next to dist/ (a failed build leaves dist/ as it was);
 *   2. copies the files tsc does not emit: plain `.mjs` modules (the watchdog), nats.conf and
 *      nats-cluster/;
 *   3. rewrites relative `.ts` specifiers in the declarations to `.js` (tsc rewrites them in
 *      the JavaScript only; tsc accepts either in a .d.ts, other tools expect `.js`);
 *   4. writes dist/build-stamp.json (the inputs, dated to when the build started) and swaps
 *      the folder into place. runtime/cli/bin.mjs reads the stamp to decide whether dist/ is
 *      newer than every input in a developer checkout.
 */
import { spawnSync } from "node:child_process"
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative, sep } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const dist = join(root, "dist")
const tmp = join(root, `.dist-build-${process.pid}`)
const started = new Date()

/** The bin is the only `.mjs` that must not be copied: it lives outside dist/ and runs it. */
const BIN = join("runtime", "cli", "bin.mjs")
/** Files the runtime reads next to its modules, copied as they are (the dashboard's page, styles and scripts among them). */
const ASSETS = ["nats.conf", "nats-base.conf", "nats-tls.conf", "nats-cluster", join("runtime", "gateway", "dashboard")]

// tsconfig.build.json is JSON with comments: drop whole-line comments before parsing
const buildConfig = JSON.parse(
  readFileSync(join(root, "tsconfig.build.json"), "utf8")
    .split("\n")
    .filter((l) => !l.trim().startsWith("//"))
    .join("\n"),
)
const folders = buildConfig.include

function files(dir) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...files(p))
    else out.push(p)
  }
  return out
}

rmSync(tmp, { recursive: true, force: true })
try {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  const run = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", tmp], { stdio: "inherit" })
  if (run.status !== 0) throw new Error(`tsc failed (exit ${run.status ?? run.signal})`)

  for (const folder of folders) {
    for (const f of files(join(root, folder))) {
      const rel = relative(root, f)
      if (f.endsWith(".mjs") && rel !== BIN) cpSync(f, join(tmp, rel))
    }
  }
  for (const a of ASSETS) cpSync(join(root, a), join(tmp, a), { recursive: true })

  const relativeTs = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g
  for (const f of files(tmp)) {
    if (!f.endsWith(".d.ts")) continue
    const text = readFileSync(f, "utf8")
    const fixed = text.replace(relativeTs, "$1$2.js$3")
    if (fixed !== text) writeFileSync(f, fixed)
  }

  const stamp = join(tmp, "build-stamp.json")
  writeFileSync(stamp, JSON.stringify({ inputs: [...folders, ...ASSETS, "tsconfig.json", "tsconfig.build.json"] }, null, 2) + "\n")
  utimesSync(stamp, started, started)

  rmSync(dist, { recursive: true, force: true })
  renameSync(tmp, dist)
} catch (e) {
  rmSync(tmp, { recursive: true, force: true })
  console.error(`build: ${e.message}`)
  process.exit(1)
}
console.error(`build: dist/ (${files(dist).length} files) in ${((Date.now() - started.getTime()) / 1000).toFixed(1)} s`)
