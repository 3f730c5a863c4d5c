/**
 * What a probe child prints, read by its scenario: `progress <fraction> <label>` lines become the
 * scenario's progress, `note <text>` lines its log, and the first `result <json>` line is the
 * outcome (bench/probes/memory-probe.ts, scale-probe.ts).
 */
import type { ChildProcess } from "node:child_process"
import { waitForLine } from "./children.ts"
import type { ScenarioContext } from "./types.ts"

/** The probe's `result` line, its progress and notes passed on meanwhile; rejects on exit or after `timeoutMs`. */
export function probeResult<T>(ctx: ScenarioContext, child: ChildProcess, timeoutMs: number): Promise<T> {
  return waitForLine<T>(
    child,
    (line) => {
      if (line.startsWith("progress ")) {
        const [, f, ...label] = line.split(" ")
        ctx.progress(Number(f), label.join(" "))
        return undefined
      }
      if (line.startsWith("note ")) ctx.log(line.slice(5))
      if (line.startsWith("result ")) return JSON.parse(line.slice(7)) as T
      return undefined
    },
    timeoutMs,
  )
}
