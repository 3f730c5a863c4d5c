/**
 * Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise (CI logs,
 * pipes), at most one per label change or every few seconds, each with the seconds since the
 * run began. Drawn by hand: no dependency.
 */

export interface Progress {
  /** Scenario `index` of `total` is at `fraction` (0..1) doing `label`. */
  update(scenario: string, index: number, total: number, fraction: number, label: string): void
  /** A line that must not be overwritten by the bar. */
  line(message: string): void
  done(): void
}

export function createProgress(err: (s: string) => void, tty: boolean, width = 28): Progress {
  let lastLabel = ""
  let lastPlainAt = 0
  let drawn = false
  const started = Date.now()
  const clear = () => {
    if (drawn) err("\r\x1b[2K")
    drawn = false
  }
  return {
    update(scenario, index, total, fraction, label) {
      const f = Math.max(0, Math.min(1, fraction))
      const overall = (index + f) / total
      if (tty) {
        const filled = Math.round(overall * width)
        const bar = "█".repeat(filled) + "░".repeat(width - filled)
        const secs = ((Date.now() - started) / 1000).toFixed(0)
        const text = `${bar} ${String(Math.round(overall * 100)).padStart(3)}% [${index + 1}/${total}] ${scenario}: ${label} ${secs}s`
        const cols = (process.stderr.columns ?? 100) - 1
        err(`\r\x1b[2K${text.length > cols ? text.slice(0, cols) : text}`)
        drawn = true
        return
      }
      const key = `${scenario}:${label}`
      const now = Date.now()
      if (key === lastLabel && now - lastPlainAt < 5_000) return
      lastLabel = key
      lastPlainAt = now
      const secs = ((now - started) / 1000).toFixed(0)
      err(`[bench ${index + 1}/${total} ${Math.round(overall * 100)}% ${secs}s] ${scenario}: ${label}\n`)
    },
    line(message) {
      clear()
      err(`${message}\n`)
    },
    done() {
      clear()
    },
  }
}
