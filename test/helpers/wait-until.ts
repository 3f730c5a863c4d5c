/** Polls `cond` until it is truthy (returning its value) or fails after `timeoutMs`. */
export async function waitUntil<T>(
  cond: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await cond()
      if (v) return v as NonNullable<T>
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) {
      throw new Error(`waitUntil: ${opts.message ?? "condition"} not met within ${timeoutMs} ms` + (last ? ` (last error: ${String(last)})` : ""))
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20))
  }
}
