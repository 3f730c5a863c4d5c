/**
 * The package as a user gets it. A copy of this checkout is packed with `npm pack` (whose
 * `prepack` builds dist/ afresh), the tarball is installed into a temporary project with its
 * dependencies from the npm registry (the npm cache first), and the project then proves that
 *   - a plain `node` ESM program imports `defineAgent` and `startNode` from "ants" (and the
 *     subpaths) and answers asks against a real nats-server, on this Node and on Node 24 (the
 *     registry's `node@24` package);
 *   - a strict TypeScript consumer (NodeNext, `strict`, `noUncheckedIndexedAccess`, no
 *     `skipLibCheck`) compiles against the declarations, and a wrong message is a type error;
 *   - the installed `ants` bin runs the built CLI, and loads a TypeScript agents module.
 * The copy keeps the pack from rebuilding the checkout's own dist/ under other test files.
 * Nothing here is skipped: a pack or install that fails fails the test, with npm's output.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, sep } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { agentSubject } from "../../subjects/grammar.ts"
import { natsFixture, rawConnect, type NatsServer } from "../helpers/nats.ts"

const REPO = fileURLToPath(new URL("../../", import.meta.url))
const PKG = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
  peerDependencies: Record<string, string>
  devDependencies: Record<string, string>
}
const TSC = join(REPO, "node_modules", "typescript", "bin", "tsc")
/** Top-level entries of the checkout that are neither packed nor needed to build. */
const NOT_COPIED = new Set(["node_modules", "dist", ".git", ".tmp", "test", "coverage", "bench-results"])

const TMP = mkdtempSync(join(tmpdir(), "ants-package-"))
const SRC = join(TMP, "src")
const APP = join(TMP, "app")
const NODE24 = join(TMP, "node24")

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * npm runs this file under `npm test` with its own settings in `npm_*` variables; the installs
 * below are a user's, so only the cache, registry and user config pass through.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(["npm_config_cache", "npm_config_registry", "npm_config_userconfig"])
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith("npm_") || keep.has(k.toLowerCase())) env[k] = v
  return { ...env, ...extra }
}

function run(cmd: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    p.stdout.on("data", (d) => (stdout += d))
    p.stderr.on("data", (d) => (stderr += d))
    p.on("error", reject)
    p.on("exit", (code) => resolve({ code, stdout, stderr }))
  })
}

/** Runs and throws with everything the command printed unless it exits 0. */
async function mustRun(cmd: string, args: ReadonlyArray<string>, cwd: string, env?: NodeJS.ProcessEnv): Promise<Run> {
  const r = await run(cmd, args, cwd, env)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`)
  return r
}

const NPM_QUIET = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"]

/** Packs a copy of the checkout; resolves with the tarball's path and its file list. */
async function pack(): Promise<{ tarball: string; files: string[] }> {
  cpSync(REPO, SRC, {
    recursive: true,
    filter: (p) => {
      const top = relative(REPO, p).split(sep)[0] ?? ""
      return !NOT_COPIED.has(top) && !top.startsWith(".dist-build-")
    },
  })
  symlinkSync(realpathSync(join(REPO, "node_modules")), join(SRC, "node_modules"))
  const r = await mustRun("npm", ["pack", "--json", "--pack-destination", TMP], SRC)
  const [info] = JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  if (!info) throw new Error(`npm pack printed no package: ${r.stdout}`)
  return { tarball: join(TMP, info.filename), files: info.files.map((f) => f.path) }
}

async function installApp(tarball: string): Promise<void> {
  mkdirSync(APP)
  writeFileSync(join(APP, "package.json"), JSON.stringify({ name: "ants-consumer", private: true, type: "module" }, null, 2))
  const deps = [tarball, `effect@${PKG.peerDependencies.effect}`, `@types/node@${PKG.devDependencies["@types/node"]}`]
  await mustRun("npm", ["install", ...NPM_QUIET, ...deps], APP)
}

async function installNode24(): Promise<string> {
  mkdirSync(NODE24)
  writeFileSync(join(NODE24, "package.json"), JSON.stringify({ name: "node24", private: true }))
  await mustRun("npm", ["install", "--no-save", ...NPM_QUIET, "node@24"], NODE24)
  return join(NODE24, "node_modules", ".bin", "node")
}

const PROGRAM = `
import { Schema } from "effect"
import { defineAgent, startNode } from "ants"
import { agentSubject } from "ants/subjects"
import { defineSupervisor } from "ants/supervisors"
import { echo } from "ants/examples"

const Text = Schema.Struct({ text: Schema.String })
const shout = defineAgent({
  type: "shout",
  protocol: { Say: { message: Text, reply: Text } },
  initialState: () => ({ said: 0 }),
  handlers: {
    Say: ({ text }, ctx) => {
      ctx.state.said += 1
      return { text: text.toUpperCase() + " " + ctx.state.said }
    },
  },
})

const node = await startNode({ agents: [shout, echo], nats: process.env.NATS_URL, logger: () => {} })
try {
  const replies = [
    await node.client.ref(shout, process.env.ACTOR).ask("Say", { text: "hi" }),
    await node.client.ref(shout, process.env.ACTOR).ask("Say", { text: "again" }),
    await node.client.ref(echo, process.env.ACTOR).ask("Say", { text: "echo" }),
  ]
  const subject = agentSubject({ tenant: "acme", type: "shout", id: "s1", tag: "Say" })
  console.log(JSON.stringify({ node: process.version, replies, subject, supervisors: typeof defineSupervisor }))
} finally {
  await node.drain()
}
`

const TYPED = `
import { Schema } from "effect"
import { defineAgent, startNode, type MessageOf, type ReplyOf } from "ants"
import { agentSubject } from "ants/subjects"
import { defineSupervisor } from "ants/supervisors"
import { echo } from "ants/examples"

const Text = Schema.Struct({ text: Schema.String })
const protocol = { Say: { message: Text, reply: Text } }
export const shout = defineAgent({
  type: "shout",
  protocol,
  initialState: () => ({ said: 0 }),
  handlers: {
    Say: ({ text }, ctx) => {
      ctx.state.said += 1
      return { text: text.toUpperCase() }
    },
  },
})

const message: MessageOf<typeof protocol, "Say"> = { text: "hi" }
const node = await startNode({ agents: [shout, echo], nats: "nats://127.0.0.1:4222" })
const reply: ReplyOf<typeof protocol, "Say"> = await node.client.ref(shout, "s1").ask("Say", message)
const text: string = reply.text
// @ts-expect-error the protocol says text is a string: unused (an error) if the types were any
await node.client.ref(shout, "s1").ask("Say", { text: 1 })
const echoed: { readonly text: string } = await node.client.ref(echo, "e1").ask("Say", { text })
console.log(echoed.text, agentSubject({ tenant: "acme", type: "shout", id: "s1", tag: "Say" }), typeof defineSupervisor)
await node.drain()
`

const STRICT_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
    types: ["node"],
  },
  files: ["typed.ts"],
}

const AGENTS_MODULE = `
import { Schema } from "effect"
import { defineAgent } from "ants"

const Text = Schema.Struct({ text: Schema.String })
export const reverse = defineAgent({
  type: "reverse",
  protocol: { Say: { message: Text, reply: Text } },
  initialState: (): { count: number } => ({ count: 0 }),
  handlers: { Say: ({ text }: { text: string }) => ({ text: [...text].reverse().join("") }) },
})
`

let nats: NatsServer
let packed: { tarball: string; files: string[] }
let node24: string

beforeAll(async () => {
  // the Node 24 download runs beside the pack and the install: they share only the npm cache
  const [p, n] = await Promise.all([
    pack().then(async (p) => {
      await installApp(p.tarball)
      return p
    }),
    installNode24(),
  ])
  packed = p
  node24 = n
  writeFileSync(join(APP, "program.mjs"), PROGRAM)
  writeFileSync(join(APP, "typed.ts"), TYPED)
  writeFileSync(join(APP, "tsconfig.json"), JSON.stringify(STRICT_TSCONFIG, null, 2))
  writeFileSync(join(APP, "agents.ts"), AGENTS_MODULE)
  nats = await natsFixture()
}, 600_000)

afterAll(async () => {
  await nats?.stop()
  rmSync(TMP, { recursive: true, force: true })
})

describe("package", () => {
  it("package - the tarball holds the build, the bin and the LICENSE, and no sources, tests, CI scripts or source maps", () => {
    const files = packed.files
    for (const must of ["package.json", "LICENSE", "README.md", "runtime/cli/bin.mjs", "dist/runtime/index.js", "dist/runtime/index.d.ts", "dist/nats.conf", "dist/subjects/mod.d.ts", "dist/supervisors/mod.d.ts", "dist/actors/examples/index.d.ts"]) {
      expect(files).toContain(must)
    }
    const outside = files.filter((f) => !f.startsWith("dist/") && !["package.json", "LICENSE", "README.md", "runtime/cli/bin.mjs"].includes(f))
    expect(outside).toEqual([])
    expect(files.filter((f) => /(^|\/)(test|\.ci|\.tmp)\//.test(f) || f.endsWith(".map") || (f.endsWith(".ts") && !f.endsWith(".d.ts")))).toEqual([])
    expect(files.some((f) => f.startsWith("dist/runtime/") && f.endsWith("/nats-server-watchdog.mjs"))).toBe(true)
  })

  // the timeouts below are room for a loaded machine (tsc checks Effect's declarations too)

  it("package - a plain node ESM program imports defineAgent and startNode from ants and answers asks (this Node)", async () => {
    const r = await mustRun(process.execPath, ["program.mjs"], APP, cleanEnv({ NATS_URL: nats.url, ACTOR: "on-this-node" }))
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "")
    expect(out).toEqual({
      node: process.version,
      replies: [{ text: "HI 1" }, { text: "AGAIN 2" }, { text: "echo" }],
      subject: agentSubject({ tenant: "acme", type: "shout", id: "s1", tag: "Say" }),
      supervisors: "function",
    })
  }, 180_000)

  it("package - the same program runs on Node 24 from the registry's node@24", async () => {
    const r = await mustRun(node24, ["program.mjs"], APP, cleanEnv({ NATS_URL: nats.url, ACTOR: "on-node-24" }))
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "")
    expect(out.node).toMatch(/^v24\./)
    expect(out.replies).toEqual([{ text: "HI 1" }, { text: "AGAIN 2" }, { text: "echo" }])
  }, 180_000)

  it("package - a strict NodeNext TypeScript consumer compiles against the declarations", async () => {
    const r = await run(process.execPath, [TSC, "-p", "."], APP)
    expect(r.stdout + r.stderr).toBe("")
    expect(r.code).toBe(0)
  }, 300_000)

  it("package - the installed ants bin runs the built CLI and hosts a TypeScript agents module", async () => {
    const bin = join(APP, "node_modules", ".bin", "ants")
    expect(existsSync(join(APP, "node_modules", "ants", "runtime", "cli", "main.ts"))).toBe(false)
    const help = await mustRun(bin, ["--help"], APP)
    const fromCheckout = await mustRun(process.execPath, [join(REPO, "runtime", "cli", "bin.mjs"), "--help"], APP)
    expect(help.stdout).toBe(fromCheckout.stdout)
    expect(help.stdout).toMatch(/\bnode\b/)

    const proc: ChildProcess = spawn(bin, ["node", "--agents", "./agents.ts", "--nats", nats.url, "--json"], { cwd: APP, env: cleanEnv() })
    let stderr = ""
    proc.stderr!.on("data", (d) => (stderr += d))
    try {
      const ready = await new Promise<{ types: string[] }>((resolve, reject) => {
        createInterface({ input: proc.stdout! }).on("line", (l) => {
          const ev = JSON.parse(l)
          if (ev.event === "ready") resolve(ev)
        })
        proc.on("exit", (code) => reject(new Error(`ants node exited early with ${code}: ${stderr}`)))
      })
      expect(ready.types).toEqual(["reverse"])
      const nc = await rawConnect(nats.url)
      try {
        const reply = await nc.request(agentSubject({ tenant: "default", type: "reverse", id: "r1", tag: "Say" }), JSON.stringify({ text: "ants" }), { timeout: 10_000 })
        expect(JSON.parse(reply.string())).toEqual({ ok: true, value: { text: "stna" } })
      } finally {
        await nc.close()
      }
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once("exit", r))
        proc.kill("SIGTERM")
        await exited
      }
    }
  }, 300_000)
})
