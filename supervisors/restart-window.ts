/**
 * The intensity/period sliding window, pure (OTP's `add_restart`).
 *
 * A window is the list of restart times (ms, ascending) that are still inside the period.
 * A restart at `now` counts every earlier restart at `t > now - periodMs`; if that count,
 * the new restart included, exceeds `intensity`, the restart is refused and the supervisor
 * gives up. So no window of length `periodMs` ever holds more than `intensity` restarts.
 * Times are expected non-decreasing; an earlier `now` is treated as equal to the last entry so
 * a clock that steps back can neither hide nor invent restarts.
 */

export type RestartWindow = ReadonlyArray<number>

export const EMPTY_WINDOW: RestartWindow = Object.freeze([]) as RestartWindow

export interface WindowResult {
  /** The window with expired entries dropped and, when allowed, the new restart added. */
  readonly window: RestartWindow
  /** Restarts inside the period, this one included (so `intensity + 1` when exceeded). */
  readonly count: number
  /** True when the restart is refused: intensity exceeded. */
  readonly exceeded: boolean
}

function clamp(window: RestartWindow, now: number): number {
  const last = window.length > 0 ? window[window.length - 1] : now
  return now < last ? last : now
}

/** The restarts still inside the period at `now`. */
export function prune(window: RestartWindow, now: number, periodMs: number): RestartWindow {
  const t = clamp(window, now)
  let i = 0
  while (i < window.length && window[i] <= t - periodMs) i++
  return i === 0 ? window : window.slice(i)
}

/** How many restarts are inside the period at `now`. */
export function restartsWithin(window: RestartWindow, now: number, periodMs: number): number {
  return prune(window, now, periodMs).length
}

/**
 * Records a restart at `now`. When it would exceed `intensity` the restart is not added and
 * `exceeded` is true; the caller gives up.
 */
export function recordRestart(window: RestartWindow, now: number, intensity: number, periodMs: number): WindowResult {
  const t = clamp(window, now)
  const live = prune(window, t, periodMs)
  const count = live.length + 1
  if (count > intensity) return { window: live, count, exceeded: true }
  return { window: [...live, t], count, exceeded: false }
}
