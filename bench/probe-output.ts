/**
 * What a probe child prints, read by its scenario: `progress <fraction> <label>` lines become the
 * scenario's progress, `note <text>` lines its log, `record <json>` and `skip <json>` lines
 * figures (and skipped ones) the child measured, and the first `result <json>` line is the
 * outcome (bench/probes/memory-probe.ts, scale-probe.ts, recall-probe.ts). Other lines go to
 * `onLine`, if given.
 */
import type { ChildProcess } from "node:child_process"
import { waitForLine } from "./children.ts"
import type { FigureInput, ScenarioContext } from "./types.ts"

/** The probe's `result` line, its progress, notes and figures passed on meanwhile; rejects on exit or after `timeoutMs`. */
export function probeResult<T>(ctx: ScenarioContext, child: ChildProcess, timeoutMs: number, onLine?: (line: string) => void): Promise<T> {
  return waitForLine<T>(
    child,
    (line) => {
      if (line.startsWith("progress ")) {
        const [, f, ...label] = line.split(" ")
        ctx.progress(Number(f), label.join(" "))
        return undefined
      }
      if (line.startsWith("note ")) ctx.log(line.slice(5))
      else if (line.startsWith("record ")) ctx.record(JSON.parse(line.slice(7)) as FigureInput)
      else if (line.startsWith("skip ")) {
        const s = JSON.parse(line.slice(5)) as { reason: string; metric?: string }
        ctx.skip(s.reason, s.metric)
      } else if (line.startsWith("result ")) return JSON.parse(line.slice(7)) as T
      else onLine?.(line)
      return undefined
    },
    timeoutMs,
  )
}
