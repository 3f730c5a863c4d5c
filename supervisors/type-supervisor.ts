/**
 * The supervisor of one agent type's dynamic actor instances, as a pure function (see the
 * `TypePolicy` section of `spec.ts` for the policy and its defaults).
 *
 * `decideActor` takes the failing instance's own restart window and the type's escalation
 * window, and returns what happens to the instance plus both next windows. It never touches
 * the other instances, so the driver keeps the windows in a map and the cost of a failure is
 * independent of how many actors the type hosts.
 *
 * Promises:
 * - `resume` counts nothing and keeps the instance's state;
 * - `restart` counts one restart in the instance's window; more than `intensity` within
 *   `periodMs` turns it into `stop` plus one escalation to the type's supervisor;
 * - `stop` forgets the instance's window (the next activation starts with a clean slate);
 * - `escalate` (from the decider, or an exceeded instance) stops the instance and counts one
 *   escalation; more than `typeIntensity` within `typePeriodMs` and the type gives up;
 * - once the type has given up, every failure is answered with `stop`.
 */
import { backoffDelay } from "./backoff.ts"
import { describeError } from "./exit-reason.ts"
import { EMPTY_WINDOW, recordRestart, restartsWithin, type RestartWindow } from "./restart-window.ts"
import { isDirective, type Directive, type TypePolicy } from "./spec.ts"

/** What happens to the failed actor instance. */
export type ActorDirective = "resume" | "restart" | "stop"

export interface ActorFailureInput {
  readonly policy: TypePolicy
  /** The instance's restart window, `undefined` when it has none. */
  readonly instanceWindow: RestartWindow | undefined
  /** The type supervisor's escalation window. */
  readonly typeWindow: RestartWindow
  readonly typeGaveUp: boolean
  readonly error: unknown
  readonly now: number
  readonly random: number
}

export interface ActorDecision {
  /** What the runtime does with the instance. */
  readonly directive: ActorDirective
  /** The decision as published: `escalate` when the instance escalated, else `directive`. */
  readonly published: Directive
  readonly reason: string
  /** Delay before the restart (0 unless `directive` is `restart`). */
  readonly backoffMs: number
  /** The instance's restarts inside its period after this decision. */
  readonly restarts: number
  /** True when the instance escalated one failure to the type's supervisor. */
  readonly escalated: boolean
  /** Escalations inside the type's period after this decision. */
  readonly escalations: number
  /** True when this failure made the type give up (or it already had). */
  readonly typeGaveUp: boolean
}

export interface ActorDecideResult {
  readonly decision: ActorDecision
  /** `undefined`: forget the instance's window. */
  readonly instanceWindow: RestartWindow | undefined
  readonly typeWindow: RestartWindow
}

function chooseDirective(policy: TypePolicy, error: unknown): { directive: Directive; note: string } {
  if (!policy.decider) return { directive: "restart", note: "" }
  try {
    const d = policy.decider(error)
    if (isDirective(d)) return { directive: d, note: "" }
    return { directive: "restart", note: ` (decider returned ${JSON.stringify(d)}; restarting)` }
  } catch (e) {
    // A decider that throws must not take the node down; restarting is the default directive.
    return { directive: "restart", note: ` (decider threw ${describeError(e)}; restarting)` }
  }
}

export function decideActor(input: ActorFailureInput): ActorDecideResult {
  const { policy, now, random } = input
  const why = describeError(input.error)
  const instanceWindow = input.instanceWindow ?? EMPTY_WINDOW
  const escalationsNow = restartsWithin(input.typeWindow, now, policy.typePeriodMs)
  const restartsNow = restartsWithin(instanceWindow, now, policy.periodMs)

  if (input.typeGaveUp) {
    return {
      decision: {
        directive: "stop",
        published: "stop",
        reason: `handler failed (${why}); the type has given up, instance stopped`,
        backoffMs: 0,
        restarts: restartsNow,
        escalated: false,
        escalations: escalationsNow,
        typeGaveUp: true,
      },
      instanceWindow: undefined,
      typeWindow: input.typeWindow,
    }
  }

  const { directive, note } = chooseDirective(policy, input.error)
  const unchanged = { instanceWindow: input.instanceWindow, typeWindow: input.typeWindow }

  if (directive === "resume") {
    return {
      decision: {
        directive: "resume",
        published: "resume",
        reason: `handler failed (${why}); resumed with state kept${note}`,
        backoffMs: 0,
        restarts: restartsNow,
        escalated: false,
        escalations: escalationsNow,
        typeGaveUp: false,
      },
      ...unchanged,
    }
  }
  if (directive === "stop") {
    return {
      decision: {
        directive: "stop",
        published: "stop",
        reason: `handler failed (${why}); instance stopped${note}`,
        backoffMs: 0,
        restarts: restartsNow,
        escalated: false,
        escalations: escalationsNow,
        typeGaveUp: false,
      },
      instanceWindow: undefined,
      typeWindow: input.typeWindow,
    }
  }

  let restarts = restartsNow
  let cause: string
  if (directive === "restart") {
    const counted = recordRestart(instanceWindow, now, policy.intensity, policy.periodMs)
    if (!counted.exceeded) {
      return {
        decision: {
          directive: "restart",
          published: "restart",
          reason: `handler failed (${why}); restarting from the last checkpoint${note}`,
          backoffMs: backoffDelay(policy.backoff, counted.count - 1, random),
          restarts: counted.count,
          escalated: false,
          escalations: escalationsNow,
          typeGaveUp: false,
        },
        instanceWindow: counted.window,
        typeWindow: input.typeWindow,
      }
    }
    restarts = counted.count
    cause = `handler failed (${why}); instance exceeded ${policy.intensity} restarts in ${policy.periodMs} ms, stopped and escalated`
  } else {
    cause = `handler failed (${why}); decider escalated, instance stopped`
  }

  const escalation = recordRestart(input.typeWindow, now, policy.typeIntensity, policy.typePeriodMs)
  const gaveUp = escalation.exceeded
  return {
    decision: {
      directive: "stop",
      published: "escalate",
      reason: gaveUp
        ? `${cause}; the type exceeded ${policy.typeIntensity} escalations in ${policy.typePeriodMs} ms and gives up`
        : cause,
      backoffMs: 0,
      restarts,
      escalated: true,
      escalations: escalation.count,
      typeGaveUp: gaveUp,
    },
    instanceWindow: undefined,
    typeWindow: escalation.window,
  }
}
