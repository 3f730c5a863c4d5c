/**
 * Runtime node processes for the multi-process scenarios: start K of them (bench/probes/
 * bench-node.ts), wait until each says it is ready and until the partitions have settled among
 * them, stop or kill -9 them.
 */
import type { ChildProcess } from "node:child_process"
import { createInbox, type NatsConnection } from "@nats-io/nats-core"
import { nodesBroadcastSubject, PARTITIONS } from "../subjects/grammar.ts"
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

/**
 * Resolves true once the nodes `nodeIds` serve every partition between them, each exactly once
 * (their views agree: a dead node's share taken over, a newcomer's handed to it), read from the
 * stats every node answers; false when that has not happened within `timeoutMs`, with what was
 * seen last.
 */
export async function partitionsSettled(nc: NatsConnection, nodeIds: ReadonlyArray<string>, timeoutMs = 10_000): Promise<{ settled: boolean; seen: string }> {
  const deadline = Date.now() + timeoutMs
  let seen = ""
  for (;;) {
    const served = await servedPartitions(nc, nodeIds)
    const owned = [...served.values()].flat()
    if (served.size === nodeIds.length && owned.length === PARTITIONS && new Set(owned).size === PARTITIONS) return { settled: true, seen: "" }
    seen = `${served.size} of ${nodeIds.length} nodes answered, serving ${owned.length} partition subscriptions for ${PARTITIONS}`
    if (Date.now() > deadline) return { settled: false, seen }
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The partitions each of `nodeIds` serves, from their answers to the stats broadcast within 250 ms. */
async function servedPartitions(nc: NatsConnection, nodeIds: ReadonlyArray<string>): Promise<Map<string, number[]>> {
  const stats = await gatherReplies(nc, nodesBroadcastSubject("stats"), nodeIds.length, 250, (r) => {
    const v = (r as { value?: { node?: string; partitions?: number[] } }).value
    return v?.node !== undefined && nodeIds.includes(v.node) ? { node: v.node, partitions: v.partitions ?? [] } : undefined
  })
  return new Map(stats.map((v) => [v.node, v.partitions]))
}

/**
 * Publishes an empty request on `subject` and gathers the replies (JSON) that `take` accepts,
 * until `enough` were accepted or `waitMs` has passed (a broadcast: every node answers).
 */
export async function gatherReplies<T>(nc: NatsConnection, subject: string, enough: number, waitMs: number, take: (reply: unknown) => T | undefined): Promise<T[]> {
  const out: T[] = []
  const inbox = createInbox()
  let done!: () => void
  const all = new Promise<void>((r) => (done = r))
  const sub = nc.subscribe(inbox, {
    callback: (_e, m) => {
      let v: T | undefined
      try {
        v = take(m.json())
      } catch {
        return // not JSON: not a reply of ours
      }
      if (v !== undefined && out.push(v) >= enough) done()
    },
  })
  nc.publish(subject, new Uint8Array(0), { reply: inbox })
  const timer = setTimeout(done, waitMs)
  await all
  clearTimeout(timer)
  sub.unsubscribe()
  return out
}
