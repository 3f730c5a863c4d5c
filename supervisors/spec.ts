/**
 * Supervisor and child specifications: plain data, every default written down here, as
 * Erlang/OTP's `supervisor` documents its flags and child specs.
 *
 * ## Supervisor flags (`SupervisorSpec`)
 *
 * | field      | default        | meaning |
 * | ---------- | -------------- | ------- |
 * | `strategy` | `"one_for_one"`| which siblings are restarted when a child must be restarted (OTP's default) |
 * | `intensity`| `1`            | at most this many restarts ... |
 * | `periodMs` | `5000`         | ... within any window of this many ms; one more and the supervisor gives up, stops its children and escalates to its parent (OTP's default: 1 restart in 5 s) |
 * | `backoff`  | `{ initialMs: 100, maxMs: 10000, multiplier: 2, jitter: 0.2 }` | delay before a restart (OTP restarts at once; we add a short, jittered delay so a crash loop does not spin a core and synchronised crashes do not restart in lock-step) |
 * | `children` | `[]`           | child specs in start order |
 *
 * Backoff: the n-th restart inside the current window (n counted from 0) waits
 * `floor(min(maxMs, initialMs * multiplier^n) * (1 - jitter * random))`, so a delay never exceeds
 * `maxMs` and jitter only ever shortens it. When the window empties, backoff is back at
 * `initialMs`: the window is the supervisor's only memory of past failures, as in OTP.
 *
 * ## Child specs (`ChildSpec`)
 *
 * | field        | default | meaning |
 * | ------------ | ------- | ------- |
 * | `id`         | (required) | unique among siblings; a subject token (`[A-Za-z0-9_-]+`) because paths and type names are built from it |
 * | `kind`       | `"worker"` | `worker` (a singleton actor or service), `supervisor` (needs `spec`), `type` (all actor instances of one agent type; `id` is the type name) |
 * | `restart`    | `"permanent"` | `permanent`: always restarted; `transient`: restarted only after an abnormal exit (an error, not `normal`/`shutdown`); `temporary`: never restarted, and forgotten once it has exited or been stopped (OTP) |
 * | `shutdownMs` | `5000` for workers and types, `"infinity"` for supervisors | how long a stop may take before the runtime kills the child: a stopped actor first finishes the handler in flight (and checkpoints) for up to this long, then is stopped with whatever it had queued answered `unavailable`; `0` is OTP's `brutal_kill`; `"infinity"` gives a subtree time to stop its own children (OTP's default for supervisors). For a type, the timeout applies to each of its actors (they stop in parallel) |
 * | `spec`       | —       | the nested supervisor's flags and children (`kind: "supervisor"` only) |
 * | `policy`     | `DEFAULT_TYPE_POLICY` | per-instance supervision of an agent type (`kind: "type"` only) |
 * | `actor`      | —       | `kind: "worker"` only: the singleton actor `{ type, id, tenant? }` (tenant `default`) this worker runs. The node keeps it activated (never passivated), reports its handler failures to this supervisor as the worker's exits, and restarts it (state back to its last checkpoint) or stops it as the supervisor decides. A worker without `actor` is bookkeeping only |
 *
 * ## Agent types (`TypePolicy`): supervising 100,000 virtual actors
 *
 * The instances of one agent type are dynamic children, like OTP's `simple_one_for_one`, but
 * restart intensity is counted per instance (as Akka counts per child), because one shared
 * window over 100,000 actors would let a single poisoned actor take its whole type down, and
 * a busy type would exhaust any fixed intensity by sheer volume.
 *
 * - When a handler throws, `decider(error)` picks the directive (default: always `restart`).
 *   `resume` keeps the in-memory state and counts nothing; `restart` reloads the last
 *   checkpoint after the backoff delay; `stop` stops the instance (the next message activates
 *   it afresh); `escalate` stops it and counts one escalation at the type's supervisor.
 * - An instance restarted more than `intensity` (default 3) times within `periodMs`
 *   (default 10000 ms) is stopped instead, and escalates one failure to the type's supervisor.
 *   The default is looser than OTP's 1 in 5 s because an instance handles outside input: two
 *   bad messages in a row must not count as a crash loop, four in ten seconds do. An instance's
 *   backoff grows with its own restarts inside its period. Windows are kept only while they
 *   hold restarts, so memory follows the instances that failed recently, not the population.
 * - The type's supervisor allows `typeIntensity` (default 10) escalations within
 *   `typePeriodMs` (default 60000 ms). One more and the type gives up: its instances are
 *   stopped, the runtime answers `unavailable` for that type on this node, and the type's exit
 *   is reported to its parent supervisor like any child's.
 *
 * `defineSupervisor` fills every default and validates, throwing a `SupervisorSpecError`
 * that names the offending field. Resolved specs are plain data (except the optional
 * `decider` function) and can be logged or sent as JSON.
 */
import { TaggedError } from "../subjects/errors.ts"
import type { Directive as WireDirective } from "../subjects/envelope.ts"

/** Restart strategies: a closed set, as in OTP. */
export const STRATEGIES = ["one_for_one", "one_for_all", "rest_for_one"] as const
export type Strategy = (typeof STRATEGIES)[number]

/** Restart types: a closed set, as in OTP. */
export const RESTART_TYPES = ["permanent", "transient", "temporary"] as const
export type RestartType = (typeof RESTART_TYPES)[number]

/** What a child is. */
export const CHILD_KINDS = ["worker", "supervisor", "type"] as const
export type ChildKind = (typeof CHILD_KINDS)[number]

/** Directives: the wire's closed set (`subjects/envelope.ts`), imported as a type only so
 * that this pure layer does not load Effect at run time. */
export type Directive = WireDirective
// A Record over the union fails to compile if the wire's set ever changes without us.
const DIRECTIVE_NAMES: { readonly [D in Directive]: true } = { resume: true, restart: true, stop: true, escalate: true }

/** Exponential restart backoff with jitter (see the module header for the formula). */
export interface Backoff {
  readonly initialMs: number
  readonly maxMs: number
  readonly multiplier: number
  /** 0..1: the share of the delay that random jitter may take off. */
  readonly jitter: number
}

/** `shutdownMs` as OTP has it: a timeout in ms (0 = brutal kill) or `"infinity"`. */
export type Shutdown = number | "infinity"

export interface SupervisorSpec {
  readonly strategy: Strategy
  readonly intensity: number
  readonly periodMs: number
  readonly backoff: Backoff
  readonly children: ReadonlyArray<ChildSpec>
}

export interface ChildSpec {
  readonly id: string
  readonly kind: ChildKind
  readonly restart: RestartType
  readonly shutdownMs: Shutdown
  /** Present exactly when `kind` is `"supervisor"`. */
  readonly spec?: SupervisorSpec
  /** Present exactly when `kind` is `"type"`. */
  readonly policy?: TypePolicy
  /** `kind: "worker"` only: the singleton actor this worker runs. */
  readonly actor?: WorkerActor
}

/** The singleton actor a worker child runs (tenant default `"default"`). */
export interface WorkerActor {
  readonly type: string
  readonly id: string
  readonly tenant: string
}

/** Chooses what to do with an actor instance whose handler threw. Must not throw. */
export type Decider = (error: unknown) => Directive

export interface TypePolicy {
  /** Restarts allowed per instance within `periodMs` before the instance is stopped and escalates. */
  readonly intensity: number
  readonly periodMs: number
  readonly backoff: Backoff
  /** Escalations from instances the type's supervisor allows within `typePeriodMs` before the type gives up. */
  readonly typeIntensity: number
  readonly typePeriodMs: number
  /** Default: every error restarts the instance. */
  readonly decider?: Decider
}

// ---------------------------------------------------------------------------------------
// Defaults (the tables above, as values)

export const DEFAULT_BACKOFF: Backoff = Object.freeze({ initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 0.2 })

export const DEFAULT_SUPERVISOR: Omit<SupervisorSpec, "children"> = Object.freeze({
  strategy: "one_for_one" as const,
  intensity: 1,
  periodMs: 5_000,
  backoff: DEFAULT_BACKOFF,
})

export const DEFAULT_WORKER_SHUTDOWN_MS = 5_000
export const DEFAULT_RESTART: RestartType = "permanent"
export const DEFAULT_KIND: ChildKind = "worker"

export const DEFAULT_TYPE_POLICY: TypePolicy = Object.freeze({
  intensity: 3,
  periodMs: 10_000,
  backoff: DEFAULT_BACKOFF,
  typeIntensity: 10,
  typePeriodMs: 60_000,
})

// ---------------------------------------------------------------------------------------
// Inputs: what a user writes (everything but child ids optional)

export interface BackoffInput {
  readonly initialMs?: number
  readonly maxMs?: number
  readonly multiplier?: number
  readonly jitter?: number
}

export interface SupervisorSpecInput {
  readonly strategy?: Strategy
  readonly intensity?: number
  readonly periodMs?: number
  readonly backoff?: BackoffInput
  readonly children?: ReadonlyArray<ChildSpecInput>
}

export interface ChildSpecInput {
  readonly id: string
  readonly kind?: ChildKind
  readonly restart?: RestartType
  readonly shutdownMs?: Shutdown
  readonly spec?: SupervisorSpecInput
  readonly policy?: TypePolicyInput
  readonly actor?: { readonly type: string; readonly id: string; readonly tenant?: string }
}

export interface TypePolicyInput {
  readonly intensity?: number
  readonly periodMs?: number
  readonly backoff?: BackoffInput
  readonly typeIntensity?: number
  readonly typePeriodMs?: number
  readonly decider?: Decider
}

/** A specification that cannot be run. `where` is a dotted path to the field, e.g. `children[1].restart`. */
export class SupervisorSpecError extends TaggedError("SupervisorSpecError") {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(where ? `${where}: ${message}` : message)
  }
}

const ID = /^[A-Za-z0-9_-]+$/

function fail(where: string, message: string): never {
  throw new SupervisorSpecError(message, where)
}

function at(base: string, field: string): string {
  return base ? `${base}.${field}` : field
}

function oneOf<T extends string>(where: string, value: unknown, allowed: ReadonlyArray<T>, fallback: T): T {
  if (value === undefined) return fallback
  if (typeof value !== "string" || !(allowed as ReadonlyArray<string>).includes(value)) {
    fail(where, `unknown value ${JSON.stringify(value)}; expected one of ${allowed.map((a) => `"${a}"`).join(", ")}`)
  }
  return value as T
}

function num(where: string, value: unknown, fallback: number, rule: { min: number; max?: number; integer?: boolean }): number {
  if (value === undefined) return fallback
  if (typeof value !== "number" || !Number.isFinite(value)) fail(where, `must be a finite number, got ${String(value)}`)
  if (rule.integer && !Number.isInteger(value)) fail(where, `must be an integer, got ${value}`)
  if (value < rule.min) fail(where, `must be >= ${rule.min}, got ${value}`)
  if (rule.max !== undefined && value > rule.max) fail(where, `must be <= ${rule.max}, got ${value}`)
  return value
}

function positive(where: string, value: unknown, fallback: number): number {
  const v = num(where, value, fallback, { min: 0 })
  if (v === 0) fail(where, "must be > 0")
  return v
}

/** Fills and validates a backoff. */
export function defineBackoff(input: BackoffInput | undefined = {}, where = "backoff"): Backoff {
  if (input === null || typeof input !== "object") fail(where, "must be an object")
  const initialMs = num(at(where, "initialMs"), input.initialMs, DEFAULT_BACKOFF.initialMs, { min: 0 })
  const maxMs = num(at(where, "maxMs"), input.maxMs, Math.max(DEFAULT_BACKOFF.maxMs, initialMs), { min: 0 })
  if (maxMs < initialMs) fail(at(where, "maxMs"), `must be >= initialMs (${initialMs}), got ${maxMs}`)
  const multiplier = num(at(where, "multiplier"), input.multiplier, DEFAULT_BACKOFF.multiplier, { min: 1 })
  const jitter = num(at(where, "jitter"), input.jitter, DEFAULT_BACKOFF.jitter, { min: 0, max: 1 })
  return Object.freeze({ initialMs, maxMs, multiplier, jitter })
}

/** Fills and validates the supervision policy of one agent type. */
export function defineTypePolicy(input: TypePolicyInput | undefined = {}, where = "policy"): TypePolicy {
  if (input === null || typeof input !== "object") fail(where, "must be an object")
  const d = DEFAULT_TYPE_POLICY
  if (input.decider !== undefined && typeof input.decider !== "function") fail(at(where, "decider"), "must be a function")
  const policy: TypePolicy = {
    intensity: num(at(where, "intensity"), input.intensity, d.intensity, { min: 0, integer: true }),
    periodMs: positive(at(where, "periodMs"), input.periodMs, d.periodMs),
    backoff: defineBackoff(input.backoff ?? {}, at(where, "backoff")),
    typeIntensity: num(at(where, "typeIntensity"), input.typeIntensity, d.typeIntensity, { min: 0, integer: true }),
    typePeriodMs: positive(at(where, "typePeriodMs"), input.typePeriodMs, d.typePeriodMs),
    ...(input.decider ? { decider: input.decider } : {}),
  }
  return Object.freeze(policy)
}

function defineChild(input: ChildSpecInput, where: string): ChildSpec {
  if (input === null || typeof input !== "object") fail(where, "a child spec must be an object")
  if (typeof input.id !== "string" || !ID.test(input.id)) {
    fail(at(where, "id"), `must be a non-empty token of letters, digits, '_' or '-', got ${JSON.stringify(input.id)}`)
  }
  const kind = oneOf(at(where, "kind"), input.kind, CHILD_KINDS, DEFAULT_KIND)
  const restart = oneOf(at(where, "restart"), input.restart, RESTART_TYPES, DEFAULT_RESTART)
  const shutdownMs: Shutdown =
    input.shutdownMs === "infinity"
      ? "infinity"
      : input.shutdownMs === undefined
        ? kind === "supervisor"
          ? "infinity"
          : DEFAULT_WORKER_SHUTDOWN_MS
        : num(at(where, "shutdownMs"), input.shutdownMs, 0, { min: 0 })
  if (input.actor !== undefined && kind !== "worker") fail(at(where, "actor"), `only worker children run an actor (kind is "${kind}")`)
  if (kind === "supervisor") {
    if (input.spec === undefined) fail(at(where, "spec"), `child "${input.id}" is a supervisor and needs a spec`)
    if (input.policy !== undefined) fail(at(where, "policy"), "only type children take a policy")
    const spec = defineSupervisorAt(input.spec, at(where, "spec"))
    return Object.freeze({ id: input.id, kind, restart, shutdownMs, spec })
  }
  if (input.spec !== undefined) fail(at(where, "spec"), `only supervisor children take a spec (kind is "${kind}")`)
  if (kind === "type") {
    const policy = defineTypePolicy(input.policy ?? {}, at(where, "policy"))
    return Object.freeze({ id: input.id, kind, restart, shutdownMs, policy })
  }
  if (input.policy !== undefined) fail(at(where, "policy"), "only type children take a policy")
  if (input.actor === undefined) return Object.freeze({ id: input.id, kind, restart, shutdownMs })
  const actor = defineWorkerActor(input.actor, at(where, "actor"))
  return Object.freeze({ id: input.id, kind, restart, shutdownMs, actor })
}

function defineWorkerActor(input: ChildSpecInput["actor"], where: string): WorkerActor {
  if (input === null || typeof input !== "object") fail(where, "must be an object { type, id, tenant? }")
  const tok = (field: string, v: unknown, fallback?: string): string => {
    if (v === undefined && fallback !== undefined) return fallback
    if (typeof v !== "string" || !ID.test(v)) fail(at(where, field), `must be a non-empty token of letters, digits, '_' or '-', got ${JSON.stringify(v)}`)
    return v
  }
  return Object.freeze({ type: tok("type", input.type), id: tok("id", input.id), tenant: tok("tenant", input.tenant, "default") })
}

function defineSupervisorAt(input: SupervisorSpecInput, where: string): SupervisorSpec {
  if (input === null || typeof input !== "object") fail(where, "a supervisor spec must be an object")
  const strategy = oneOf(at(where, "strategy"), input.strategy, STRATEGIES, DEFAULT_SUPERVISOR.strategy)
  const intensity = num(at(where, "intensity"), input.intensity, DEFAULT_SUPERVISOR.intensity, { min: 0, integer: true })
  const periodMs = positive(at(where, "periodMs"), input.periodMs, DEFAULT_SUPERVISOR.periodMs)
  const backoff = defineBackoff(input.backoff ?? {}, at(where, "backoff"))
  const rawChildren = input.children ?? []
  if (!Array.isArray(rawChildren)) fail(at(where, "children"), "must be an array")
  const seen = new Set<string>()
  const children = rawChildren.map((c, i) => {
    const child = defineChild(c, at(where, `children[${i}]`))
    if (seen.has(child.id)) fail(at(where, `children[${i}].id`), `duplicate child id "${child.id}"`)
    seen.add(child.id)
    return child
  })
  return Object.freeze({ strategy, intensity, periodMs, backoff, children: Object.freeze(children) })
}

/**
 * Fills every default and validates a supervisor spec (recursively through nested
 * supervisors). Throws `SupervisorSpecError` naming the field at fault.
 */
export function defineSupervisor(input: SupervisorSpecInput = {}): SupervisorSpec {
  return defineSupervisorAt(input, "")
}

/** True when `value` is one of the four directive names. */
export function isDirective(value: unknown): value is Directive {
  return typeof value === "string" && Object.hasOwn(DIRECTIVE_NAMES, value)
}
