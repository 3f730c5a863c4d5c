/**
 * The "messages per second" quota of a tenant: a token bucket per tenant (burst one second's
 * worth), refilled from the clock on each take, so idle tenants cost nothing but their entry.
 * Kept here, small and alone, until the node's general rate limiter (per tenant and per agent)
 * is in place; the quota should then configure that limiter instead of running beside it.
 */
export class TenantMessageRate {
  private readonly buckets = new Map<string, { tokens: number; last: number; rate: number }>()

  /** Takes one message of `tenant` against `ratePerSec`; false when the tenant is over its rate. */
  take(tenant: string, ratePerSec: number, now = Date.now()): boolean {
    let b = this.buckets.get(tenant)
    if (b === undefined || b.rate !== ratePerSec) {
      b = { tokens: Math.max(1, ratePerSec), last: now, rate: ratePerSec }
      this.buckets.set(tenant, b)
    } else if (now > b.last) {
      b.tokens = Math.min(Math.max(1, ratePerSec), b.tokens + ((now - b.last) * ratePerSec) / 1000)
      b.last = now
    }
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  forget(tenant: string): void {
    this.buckets.delete(tenant)
  }
}
