/**
 * The tenants' policies as this node sees them: one watch of the policy bucket keeps every
 * tenant's policy in memory, so the check before each model or tool call reads no KV entry. (A read
 * per call was a request to the server per model call: at a thousand calls a second under
 * load some timed out, and each such call was refused.) A change (`ants policy set`) is seen
 * once the watch delivers it, milliseconds after it is stored. A stored policy that does not
 * parse is kept as its error: calls are refused, not let through.
 */
import type { KV } from "@nats-io/kv"
import { policyOfEntry, type TenantPolicy } from "./policy.ts"

export interface PolicyView {
  /** The tenant's policy (the defaults when it has none); throws when the stored one is not valid. */
  policy(tenant: string): Promise<TenantPolicy>
  stop(): void
}

export async function watchPolicies(kv: KV): Promise<PolicyView> {
  const known = new Map<string, TenantPolicy | Error>()
  const watch = await kv.watch({ key: ">" })
  let caught: () => void = () => undefined
  const ready = new Promise<void>((r) => (caught = r))
  void (async () => {
    for await (const e of watch) {
      try {
        known.set(e.key, policyOfEntry(e, e.key))
      } catch (err) {
        known.set(e.key, err as Error)
      }
      if (e.delta === 0) caught()
    }
  })().catch(() => undefined)
  // an empty bucket sends no entry at all: nothing to wait for
  if ((await kv.status()).values === 0) caught()
  return {
    async policy(tenant) {
      await ready
      const p = known.get(tenant)
      if (p instanceof Error) throw p
      return p ?? { rules: [] }
    },
    stop: () => watch.stop(),
  }
}
