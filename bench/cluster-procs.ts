/**
 * Runtime node processes for the multi-process scenarios: start K of them (bench/probes/
 * bench-node.ts), wait until each says it is ready, stop or kill -9 them.
 */
import type { ChildProcess } from "node:child_process"
import { spawnTs, waitForLine } from "./children.ts"

export interface NodeProc {
  readonly nodeId: string
  readonly child: ChildProcess
  /** kill -9; resolves when the process is gone. */
  kill(): Promise<void>
  /** SIGTERM (graceful drain); resolves when the process exited (SIGKILL after 10 s). */
  stop(): Promise<void>
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((r) => child.once("exit", () => r()))
}

export async function startNodeProc(config: Record<string, unknown> & { nodeId: string }, timeoutMs = 60_000): Promise<NodeProc> {
  const child = spawnTs("bench/probes/bench-node.ts", [JSON.stringify(config)])
  await waitForLine(child, (l) => (l.startsWith("ready ") ? true : undefined), timeoutMs)
  child.stdout?.resume()
  child.stderr?.resume()
  return {
    nodeId: config.nodeId,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      await exited(child)
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000)
      await exited(child)
      clearTimeout(t)
    },
  }
}

export async function startNodeProcs(configs: ReadonlyArray<Record<string, unknown> & { nodeId: string }>, timeoutMs = 60_000): Promise<NodeProc[]> {
  const started = await Promise.allSettled(configs.map((c) => startNodeProc(c, timeoutMs)))
  const ok = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []))
  const failed = started.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined
  if (failed) {
    await Promise.all(ok.map((p) => p.kill()))
    throw failed.reason
  }
  return ok
}
