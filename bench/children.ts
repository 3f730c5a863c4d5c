/**
 * Child processes started by scenarios (runtime nodes for swarm and failover, the memory
 * probe). Every child is registered here so that the runner can kill what a failed or
 * interrupted scenario left behind; nothing else is ever killed.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const live = new Set<ChildProcess>()

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = resolve(BENCH_DIR, "..")

/** True when the harness runs as built JavaScript (dist/ mirrors the repository, `.ts` became `.js`). */
const BUILT = import.meta.url.endsWith(".js")

/** A repository-relative source path (`x.ts`) as this copy of the harness has it. */
export function builtPath(relPath: string): string {
  return BUILT ? relPath.replace(/\.ts$/, ".js") : relPath
}

/**
 * Node's options for every child, from `ANTS_BENCH_CHILD_ARGS` (space-separated), for looking
 * inside them: `--cpu-prof --cpu-prof-dir=/tmp/prof` profiles each (Node refuses `--cpu-prof` in
 * NODE_OPTIONS).
 */
const CHILD_ARGS = (process.env.ANTS_BENCH_CHILD_ARGS ?? "").split(" ").filter((a) => a !== "")

/**
 * Starts `node [nodeArgs] --import tsx <script> [args]` from the repository root; built, the
 * script's `.js` with no loader. `stdin`: the child's standard input is a pipe the scenario
 * writes to (else it is closed).
 */
export function spawnTs(script: string, args: ReadonlyArray<string>, nodeArgs: ReadonlyArray<string> = [], opts: { stdin?: boolean } = {}): ChildProcess {
  const loader = BUILT ? [] : ["--import", "tsx"]
  const child = spawn(process.execPath, [...CHILD_ARGS, ...nodeArgs, ...loader, builtPath(script), ...args], {
    cwd: REPO_ROOT,
    stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    env: { ...process.env },
  })
  live.add(child)
  child.once("exit", () => live.delete(child))
  return child
}

/** kill -9 of every child still running (only ones this process started). */
export function killChildren(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  }
  live.clear()
}

/** Resolves with the first stdout line for which `match` returns a value (or rejects on exit/timeout). */
export function waitForLine<T>(child: ChildProcess, match: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((res, rej) => {
    let buf = ""
    let stderr = ""
    const onErr = (b: Buffer) => {
      if (stderr.length < 8000) stderr += b.toString()
    }
    const onData = (b: Buffer) => {
      buf += b.toString()
      let nl: number
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        const v = match(line)
        if (v !== undefined) {
          done()
          res(v)
          return
        }
      }
    }
    const onExit = (code: number | null, signal: string | null) => {
      done()
      rej(new Error(`child exited (${code ?? signal}) before it was ready: ${stderr.slice(-2000)}`))
    }
    const timer = setTimeout(() => {
      done()
      rej(new Error(`child not ready within ${timeoutMs} ms: ${stderr.slice(-2000)}`))
    }, timeoutMs)
    const done = () => {
      clearTimeout(timer)
      child.stdout?.off("data", onData)
      child.stderr?.off("data", onErr)
      child.off("exit", onExit)
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onErr)
    child.once("exit", onExit)
  })
}
