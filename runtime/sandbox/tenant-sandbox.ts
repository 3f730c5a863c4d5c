/**
 * A sandbox bound to one tenant: what an actor sees as `ctx.sandbox`. The tenant is the actor's
 * own and cannot be named, so a handler cannot run code (or reach warm isolates) of another
 * tenant.
 */
import type { Sandbox, SandboxRun } from "./sandbox.ts"

export type TenantSandboxRun = Omit<SandboxRun, "tenant">

export interface TenantSandbox {
  /** The tenant every run is made in. */
  readonly tenant: string
  /** Runs the code in this tenant's isolates (see `Sandbox.run`). */
  run(input: TenantSandboxRun): Promise<unknown>
}

export function tenantSandbox(sandbox: Sandbox, tenant: string): TenantSandbox {
  return {
    tenant,
    run: (input) => sandbox.run({ ...input, tenant }),
  }
}
