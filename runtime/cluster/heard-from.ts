/**
 * When each node was last heard from, kept past its death (a minute) for the lease grace
 * (leases.ts): a lease whose holder was taken for dead is taken over only `expiryMs` after the
 * holder was last heard, unless the holder is gone for sure (gone-check.ts), which forgets it
 * here and wakes whoever waits on its grace.
 */
export class HeardFrom {
  private readonly at = new Map<string, number>()
  private readonly waiters = new Map<string, Set<() => void>>()

  set(node: string, t: number): void {
    this.at.set(node, t)
  }

  /** Forgets `node` (it left, or is gone for sure): its grace ends now. */
  forget(node: string): void {
    this.at.delete(node)
    const w = this.waiters.get(node)
    this.waiters.delete(node)
    for (const wake of w ?? []) wake()
  }

  /** Milliseconds since `node` was last heard from; undefined when it was forgotten or never heard. */
  ago(node: string, now = Date.now()): number | undefined {
    const t = this.at.get(node)
    return t === undefined ? undefined : now - t
  }

  /** Drops nodes not heard from for a minute that are not members any more. */
  sweep(now: number, isMember: (node: string) => boolean): void {
    for (const [id, t] of this.at) if (now - t > 60_000 && !isMember(id)) this.at.delete(id)
  }

  /** Resolves after `ms`, or as soon as `node` is forgotten. */
  wait(node: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(node)
      if (set === undefined) this.waiters.set(node, (set = new Set()))
      const wake = () => {
        clearTimeout(timer)
        set!.delete(wake)
        resolve()
      }
      const timer = setTimeout(() => {
        wake()
        if (set!.size === 0 && this.waiters.get(node) === set) this.waiters.delete(node)
      }, ms)
      set.add(wake)
    })
  }
}
