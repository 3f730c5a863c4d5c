/**
 * An `ants node` process of its own (the real binary), for tests that kill -9 a node: resolves
 * once it prints its ready banner, rejects with its output if it exits first.
 */
import { spawn, type ChildProcess } from "node:child_process"

const BIN = new URL("../../runtime/cli/bin.mjs", import.meta.url).pathname
export const EXAMPLE_AGENTS = new URL("../../actors/examples/index.ts", import.meta.url).pathname

export function spawnNodeProcess(args: ReadonlyArray<string>, options: { cwd?: string } = {}): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, "node", ...args], { stdio: ["ignore", "pipe", "pipe"], ...(options.cwd ? { cwd: options.cwd } : {}) })
    let out = ""
    p.stdout!.on("data", (b: Buffer) => {
      out += b.toString()
      if (out.includes(" ready on ")) resolve(p)
    })
    p.stderr!.on("data", (b: Buffer) => (out += b.toString()))
    p.on("exit", (c, s) => reject(new Error(`ants node exited (${c ?? s}) before it was ready:\n${out}`)))
  })
}

/** SIGKILL, and resolves once the process is gone. */
export async function killNine(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return
  const gone = new Promise((r) => p.once("exit", r))
  p.kill("SIGKILL")
  await gone
}
