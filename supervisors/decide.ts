/**
 * The supervisor's decision on a child exit, as a pure function:
 * `decide(state, exit, now, random) -> { decision, nextState }`.
 *
 * Promises, following OTP's `supervisor`:
 * - the child's restart type decides whether it comes back (`permanent` always, `transient`
 *   after an abnormal exit, `temporary` never; a temporary child is then forgotten);
 * - a restart counts once per exit, whatever the strategy cycles, toward the intensity;
 *   more than `intensity` restarts within `periodMs` and the supervisor gives up instead:
 *   it stops all its running children in reverse start order and escalates (`escalate: true`);
 * - otherwise the strategy names the siblings to stop (reverse start order) and the children
 *   to restart (start order), after `backoffMs` (the n-th restart of the window waits
 *   `backoffDelay(spec.backoff, n, random)`);
 * - an exit of a child that is not running, or of any child once the supervisor gave up, is
 *   ignored (`ignored: true`), as OTP ignores an EXIT from a process it no longer supervises.
 *
 * `resume` never comes out of here: a child exit has already ended the child. It belongs to
 * the type supervisor (`type-supervisor.ts`), where a handler error need not end the actor.
 *
 * Deviation from OTP, on purpose: OTP's supervisor exits with reason `shutdown` when it
 * gives up, so a `transient` parent entry would silently stay down. Here giving up is
 * reported to the parent as an abnormal exit (see `tree.ts`), so escalation always climbs.
 */
import { backoffDelay } from "./backoff.ts"
import { describeReason, shouldRestart, type ExitReason } from "./exit-reason.ts"
import type { ChildState, ChildStatus } from "./restart-plan.ts"
import { EMPTY_WINDOW, recordRestart, restartsWithin, type RestartWindow } from "./restart-window.ts"
import type { Directive, SupervisorSpec } from "./spec.ts"
import { strategyFor } from "./strategy.ts"

export interface SupervisorState {
  readonly spec: SupervisorSpec
  /** In start order, one per child spec. */
  readonly children: ReadonlyArray<ChildState>
  readonly window: RestartWindow
  readonly status: "running" | "gave_up"
}

/** A child's exit as the supervisor sees it. */
export interface ChildExit {
  readonly childId: string
  readonly reason: ExitReason
}

export interface Decision {
  readonly childId: string
  /** `restart` (something is restarted), `stop` (the child stays down) or `escalate` (the supervisor gives up). */
  readonly directive: Directive
  /** Why, in one line: published with the event. */
  readonly reason: string
  /** Children to stop, in this order (reverse start order). Never includes the exited child. */
  readonly stop: ReadonlyArray<string>
  /** Children to restart after `backoffMs`, in this order (start order). */
  readonly restart: ReadonlyArray<string>
  /** Temporary children forgotten by this decision (they are in `stop` too when running). */
  readonly remove: ReadonlyArray<string>
  /** True when the supervisor gave up and its parent must handle its failure. */
  readonly escalate: boolean
  readonly backoffMs: number
  /** Restarts inside the period after this decision (`intensity + 1` when escalating). */
  readonly restarts: number
  /** True when the exit was not for this supervisor to act on (unknown child, not running, or gave up). */
  readonly ignored: boolean
}

export interface DecideResult {
  readonly decision: Decision
  readonly nextState: SupervisorState
}

/** A freshly started supervisor: all children running, empty window. */
export function initialState(spec: SupervisorSpec): SupervisorState {
  return {
    spec,
    children: spec.children.map((c) => ({ id: c.id, kind: c.kind, restart: c.restart, status: "running" as const })),
    window: EMPTY_WINDOW,
    status: "running",
  }
}

function withStatuses(children: ReadonlyArray<ChildState>, update: (c: ChildState) => ChildStatus): ChildState[] {
  return children.map((c) => {
    const status = update(c)
    return status === c.status ? c : { ...c, status }
  })
}

export function decide(state: SupervisorState, exit: ChildExit, now: number, random: number): DecideResult {
  const { spec } = state
  const child = state.children.find((c) => c.id === exit.childId)
  const why = describeReason(exit.reason)
  const base = {
    childId: exit.childId,
    stop: [] as string[],
    restart: [] as string[],
    remove: [] as string[],
    escalate: false,
    backoffMs: 0,
    restarts: restartsWithin(state.window, now, spec.periodMs),
    ignored: false,
  }

  if (state.status === "gave_up" || child === undefined || child.status !== "running") {
    const reason =
      state.status === "gave_up"
        ? `exit of "${exit.childId}" ignored: the supervisor has given up`
        : child === undefined
          ? `exit of unknown child "${exit.childId}" ignored`
          : `exit of "${exit.childId}" ignored: it is not running`
    return { decision: { ...base, directive: "stop", reason, ignored: true }, nextState: state }
  }

  if (!shouldRestart(child.restart, exit.reason)) {
    const forgotten = child.restart === "temporary"
    const nextState: SupervisorState = {
      ...state,
      children: withStatuses(state.children, (c) => (c.id === child.id ? (forgotten ? "removed" : "stopped") : c.status)),
    }
    return {
      decision: {
        ...base,
        directive: "stop",
        remove: forgotten ? [child.id] : [],
        reason: `child "${child.id}" exited (${why}); ${child.restart} child not restarted`,
      },
      nextState,
    }
  }

  const counted = recordRestart(state.window, now, spec.intensity, spec.periodMs)
  if (counted.exceeded) {
    const stop = state.children
      .filter((c) => c.status === "running" && c.id !== child.id)
      .map((c) => c.id)
      .reverse()
    const remove = state.children.filter((c) => c.status !== "removed" && c.restart === "temporary").map((c) => c.id)
    const nextState: SupervisorState = {
      ...state,
      window: counted.window,
      status: "gave_up",
      children: withStatuses(state.children, (c) =>
        c.status === "removed" || c.restart === "temporary" ? "removed" : "stopped",
      ),
    }
    return {
      decision: {
        ...base,
        directive: "escalate",
        stop,
        remove,
        escalate: true,
        restarts: counted.count,
        reason: `reached max restart intensity (${spec.intensity} in ${spec.periodMs} ms) after child "${child.id}" exited (${why}); giving up`,
      },
      nextState,
    }
  }

  const plan = strategyFor(spec.strategy)(state.children, child.id)
  const restarting = new Set(plan.restart)
  const removing = new Set(plan.remove)
  const backoffMs = backoffDelay(spec.backoff, counted.count - 1, random)
  const nextState: SupervisorState = {
    ...state,
    window: counted.window,
    children: withStatuses(state.children, (c) =>
      restarting.has(c.id) ? "running" : removing.has(c.id) ? "removed" : c.status,
    ),
  }
  return {
    decision: {
      ...base,
      directive: "restart",
      stop: plan.stop,
      restart: plan.restart,
      remove: plan.remove,
      backoffMs,
      restarts: counted.count,
      reason: `child "${child.id}" exited (${why}); ${spec.strategy} restarts ${plan.restart.map((id) => `"${id}"`).join(", ")}`,
    },
    nextState,
  }
}
