/**
 * `chaos`: an agent that misbehaves on request, for tests and benchmarks of what a node does
 * with a bad actor. Each tag is one kind of trouble:
 *
 * - `Hang {}` never answers (a handler whose promise never settles);
 * - `Spin {ms}` keeps the CPU busy for `ms` milliseconds, synchronously;
 * - `Sleep {ms, pad?}` waits `ms` without using the CPU (`pad`: any text, to make a message large);
 * - `Reply {bytes}` answers `{text}` of `bytes` characters;
 * - `Grow {bytes}` adds `bytes` characters to the state;
 * - `Deepen {levels}` makes the state `levels` objects deep;
 * - `Corrupt {kind}` leaves a state JSON cannot carry (`bigint`, `cycle`);
 * - `Merge {data}` merges `data` into the state the naive way many handlers do (recursively,
 *   key by key), and says whether the decoded `data` had a plain prototype;
 * - `Remerge {}` merges the stored `merged` state into a fresh object the same naive way (a
 *   state restored from a checkpoint must not carry prototype keys either);
 * - `Probe {}` says whether `Object.prototype` has been polluted (`polluted` set on it);
 * - `Items {items}` counts an array of numbers (large invalid arrays test bounded decoding);
 * - `Get {}` reports the state's size.
 *
 * It also serves the task capability `chaos.merge`: the payload is merged naively into a fresh
 * object and the task's result says whether `Object.prototype` is polluted afterwards.
 *
 * `chaosCpu` is the same agent with its handlers on worker threads (`offload`), so its `Spin`
 * occupies a worker instead of the node's event loop. Deadlines: `Hang` and `Sleep` have the
 * default (the node's), `Spin` two minutes. Imports neither NATS nor Effect beyond Schema.
 */
import * as Schema from "effect/Schema"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"

const Ms = Schema.Number.pipe(Schema.finite(), Schema.between(0, 600_000))
const Size = Schema.Number.pipe(Schema.int(), Schema.between(0, 64 * 1024 * 1024))

export interface ChaosState {
  blobs: string[]
  deep: unknown
  merged: Record<string, unknown>
  bad?: unknown
}

function spin(ms: number): number {
  const start = Date.now()
  let x = 0
  while (Date.now() - start < ms) x++
  return x
}

function nest(levels: number): unknown {
  let v: unknown = {}
  for (let i = 0; i < levels; i++) v = { d: v }
  return v
}

/** The naive recursive merge many handlers write (and which prototype keys abuse). */
function naiveMerge(target: any, source: any): void {
  for (const key in source) {
    const v = source[key]
    if (v !== null && typeof v === "object") {
      if (target[key] === null || typeof target[key] !== "object") target[key] = {}
      naiveMerge(target[key], v)
    } else {
      target[key] = v
    }
  }
}

const spec = {
  protocol: {
    Hang: { message: Empty, reply: Empty, description: "Never answers." },
    Spin: { message: Schema.Struct({ ms: Ms }), reply: Schema.Struct({ spunMs: Schema.Number }), description: "Keeps the CPU busy for ms." },
    Sleep: { message: Schema.Struct({ ms: Ms, pad: Schema.optional(Schema.String) }), reply: Schema.Struct({ sleptMs: Schema.Number }), description: "Waits ms." },
    Reply: { message: Schema.Struct({ bytes: Size }), reply: Schema.Struct({ text: Schema.String }), description: "Answers a text of that many characters." },
    Grow: { message: Schema.Struct({ bytes: Size }), reply: Schema.Struct({ stateBytes: Schema.Number }), description: "Adds that many characters to the state." },
    Deepen: { message: Schema.Struct({ levels: Size }), reply: Schema.Struct({ levels: Schema.Number }), description: "Makes the state that many objects deep." },
    Corrupt: { message: Schema.Struct({ kind: Schema.Literal("bigint", "cycle") }), reply: Empty, description: "Leaves a state JSON cannot carry." },
    Merge: {
      message: Schema.Struct({ data: Schema.Record({ key: Schema.String, value: Schema.Unknown }) }),
      reply: Schema.Struct({ plainPrototype: Schema.Boolean, keys: Schema.Number }),
      description: "Merges data into the state naively.",
    },
    Remerge: { message: Empty, reply: Schema.Struct({ keys: Schema.Number }), description: "Merges the stored state into a fresh object naively." },
    Probe: { message: Empty, reply: Schema.Struct({ polluted: Schema.Boolean }), description: "Whether Object.prototype is polluted." },
    Items: { message: Schema.Struct({ items: Schema.Array(Schema.Number) }), reply: Schema.Struct({ count: Schema.Number }), description: "Counts numbers." },
    Get: { message: Empty, reply: Schema.Struct({ stateBytes: Schema.Number, blobs: Schema.Number }), description: "The state's size." },
  },
  initialState: (): ChaosState => ({ blobs: [], deep: null, merged: {} }),
  handlerTimeoutMs: { tags: { Spin: 120_000 } },
  handlers: {
    Hang: () => new Promise<{}>(() => {}),
    Spin: ({ ms }: { ms: number }) => {
      spin(ms)
      return { spunMs: ms }
    },
    Sleep: async ({ ms }: { ms: number }) => {
      await new Promise((r) => setTimeout(r, ms))
      return { sleptMs: ms }
    },
    Reply: ({ bytes }: { bytes: number }) => ({ text: "x".repeat(bytes) }),
    Grow: ({ bytes }: { bytes: number }, ctx: { state: ChaosState }) => {
      ctx.state.blobs.push("g".repeat(bytes))
      return { stateBytes: ctx.state.blobs.reduce((n, b) => n + b.length, 0) }
    },
    Deepen: ({ levels }: { levels: number }, ctx: { state: ChaosState }) => {
      ctx.state.deep = nest(levels)
      return { levels }
    },
    Corrupt: ({ kind }: { kind: "bigint" | "cycle" }, ctx: { state: ChaosState }) => {
      if (kind === "bigint") ctx.state.bad = BigInt(1)
      else ctx.state.bad = ctx.state
      return {}
    },
    Merge: ({ data }: { data: Record<string, unknown> }, ctx: { state: ChaosState }) => {
      naiveMerge(ctx.state.merged, data)
      return { plainPrototype: Object.getPrototypeOf(data) === Object.prototype, keys: Object.keys(ctx.state.merged).length }
    },
    Remerge: (_m: unknown, ctx: { state: ChaosState }) => {
      const fresh: Record<string, unknown> = {}
      naiveMerge(fresh, ctx.state.merged)
      return { keys: Object.keys(fresh).length }
    },
    Probe: () => ({ polluted: ({} as Record<string, unknown>).polluted !== undefined }),
    Items: ({ items }: { items: ReadonlyArray<number> }) => ({ count: items.length }),
    Get: (_m: unknown, ctx: { state: ChaosState }) => ({
      stateBytes: ctx.state.blobs.reduce((n, b) => n + b.length, 0),
      blobs: ctx.state.blobs.length,
    }),
  },
} as const

export const CHAOS_MERGE_CAPABILITY = "chaos.merge"

export const chaos = defineAgent({
  type: "chaos",
  ...spec,
  capabilities: {
    [CHAOS_MERGE_CAPABILITY]: (payload: unknown) => {
      naiveMerge({}, payload)
      return { polluted: ({} as Record<string, unknown>).polluted !== undefined }
    },
  },
})

/** The same agent, its handlers run on worker threads (a CPU-bound type that cannot freeze the node). */
export const chaosCpu = defineAgent({ type: "chaos-cpu", ...spec, offload: { module: import.meta.url, export: "chaosCpu", size: 2 } })
