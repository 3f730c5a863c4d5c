/**
 * The `ants` command as tests run it: a child process of this Node, its output collected.
 */
import { spawn } from "node:child_process"

/** The command's entry (the same file `npx ants` runs). */
export const BIN = new URL("../../runtime/cli/bin.mjs", import.meta.url).pathname

export interface CliRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `ants <args>` with exactly `env` (callers spread `process.env` in when they want it) and waits for its exit. */
export function runCli(args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, cwd?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env, ...(cwd !== undefined ? { cwd } : {}) })
    let stdout = ""
    let stderr = ""
    p.stdout.on("data", (d) => (stdout += d))
    p.stderr.on("data", (d) => (stderr += d))
    p.on("exit", (code) => resolve({ code, stdout, stderr }))
  })
}
