/**
 * isolated-vm is an optional peer dependency: a node that never runs sandboxed code must not
 * need its native build. It is loaded on the first run and the outcome kept (a failed load is
 * retried at the next run, so installing it does not need a restart of anything but the node).
 * Its types stay out of this file and of every declaration a consumer's compiler reads through
 * the package's entry (only warm-isolate.ts names them), so a project without isolated-vm
 * compiles against ANTS.
 */
import { createRequire } from "node:module"
import { SandboxError } from "./sandbox-error.ts"

const require = createRequire(import.meta.url)

export const INSTALL_HINT =
  "install it with `npm install isolated-vm` (a native module: it needs a C++ compiler and Python) and run Node with `--no-node-snapshot` (on Node 20 and later, e.g. `NODE_OPTIONS=--no-node-snapshot`)"

/** Loads the optional peer `name` (the package's CommonJS entry); a SandboxError `unavailable` with the install hint when it cannot. */
export function requirePeer<T>(name: string): T {
  try {
    const mod = require(name) as { Isolate?: unknown; default?: T }
    return typeof mod.Isolate === "function" ? (mod as T) : (mod.default as T)
  } catch (e) {
    throw new SandboxError("unavailable", `the sandbox needs the optional package isolated-vm, which could not be loaded (${(e as Error).message.split("\n")[0]}): ${INSTALL_HINT}`, { cause: e })
  }
}
