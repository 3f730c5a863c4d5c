/**
 * Test helper: `SupervisionCallbacks` that record every call in one ordered log, with a
 * manual clock and a fixed random draw. Every published event is decoded with the wire
 * schema, so a test fails if the tree ever publishes something clients could not read.
 */
import { Schema } from "effect"
import { SupervisorEvent } from "../../subjects/envelope.ts"
import type { ChildPath, DecisionTarget, SupervisionCallbacks } from "../../supervisors/mod.ts"

export type Call =
  | { readonly op: "restart"; readonly path: string; readonly delayMs: number; readonly kind: string }
  | { readonly op: "stop"; readonly path: string; readonly kind: string }
  | { readonly op: "publish"; readonly event: SupervisorEvent; readonly target: DecisionTarget }
  | { readonly op: "rootGaveUp"; readonly reason: string }

const decodeEvent = Schema.decodeUnknownSync(SupervisorEvent)

export interface Recorder extends SupervisionCallbacks {
  readonly calls: Call[]
  clock: number
  draw: number
  /** The calls other than publish, as `"stop a/b"` / `"restart a/b +100"`. */
  actions(): string[]
  events(): SupervisorEvent[]
  clear(): void
}

const show = (p: ChildPath) => p.join("/")

export function recorder(start = Date.parse("2026-01-01T00:00:00Z")): Recorder {
  const r: Recorder = {
    calls: [],
    clock: start,
    draw: 0,
    restartChild(path, delayMs, info) {
      r.calls.push({ op: "restart", path: show(path), delayMs, kind: info.kind })
    },
    stopChild(path, info) {
      r.calls.push({ op: "stop", path: show(path), kind: info.kind })
    },
    publish(event, target) {
      r.calls.push({ op: "publish", event: decodeEvent(event), target })
    },
    now: () => r.clock,
    random: () => r.draw,
    onRootGaveUp(reason) {
      r.calls.push({ op: "rootGaveUp", reason })
    },
    actions() {
      return r.calls.flatMap((c) =>
        c.op === "restart" ? [`restart ${c.path} +${c.delayMs}`] : c.op === "stop" ? [`stop ${c.path}`] : [],
      )
    },
    events() {
      return r.calls.flatMap((c) => (c.op === "publish" ? [c.event] : []))
    },
    clear() {
      r.calls.length = 0
    },
  }
  return r
}
