/**
 * isolated-vm is an optional peer dependency: a node that never runs sandboxed code must not
 * need its native build. It is loaded on the first run and the outcome kept (a failed load is
 * retried at the next run, so installing it does not need a restart of anything but the node).
 */
import { createRequire } from "node:module"
import { SandboxError } from "./sandbox-error.ts"

export type IsolatedVm = typeof import("isolated-vm")

const require = createRequire(import.meta.url)
let loaded: IsolatedVm | undefined

export const INSTALL_HINT =
  "install it with `npm install isolated-vm` (a native module: it needs a C++ compiler and Python) and run Node with `--no-node-snapshot` (on Node 20 and later, e.g. `NODE_OPTIONS=--no-node-snapshot`)"

/** isolated-vm, or a SandboxError `unavailable` saying how to install it. */
export function loadIsolatedVm(): IsolatedVm {
  return (loaded ??= requirePeer("isolated-vm"))
}

/** Loads the optional peer `name` (the package's CommonJS entry); a SandboxError `unavailable` with the install hint when it cannot. */
export function requirePeer(name: string): IsolatedVm {
  try {
    const mod = require(name) as IsolatedVm & { default?: IsolatedVm }
    return typeof mod.Isolate === "function" ? mod : (mod.default as IsolatedVm)
  } catch (e) {
    throw new SandboxError("unavailable", `the sandbox needs the optional package isolated-vm, which could not be loaded (${(e as Error).message.split("\n")[0]}): ${INSTALL_HINT}`, { cause: e })
  }
}
