/**
 * Layer `sandbox`: untrusted code (tools, generated or third-party agent handlers) run in
 * isolated-vm isolates with limits that stop it. Levels as data (`SANDBOX_LEVELS`), a pool of
 * warm isolates per tenant (`createSandbox`), a host `fetch` held to an allow-list, and the one
 * error `SandboxError` with its `code`.
 *
 * Promises: code in the sandbox reaches nothing of the host but what its level lists (JSON in,
 * JSON out; `fetch` only to allowed origins; read-only `env`); a run that passes its CPU, wall or
 * memory limit is stopped and its isolate discarded, the host and the other runs going on; an
 * isolate is never shared between tenants and never reused after a breach; isolated-vm is
 * loaded only when code first runs, and its absence is a `SandboxError` "unavailable" saying how
 * to install it.
 * May import: runtime/limits (safe JSON), runtime/observability; Node built-ins and the optional
 * peer isolated-vm.
 */
export { createSandbox, SANDBOX_DEFAULTS } from "./sandbox.ts"
export { allowedOrigins } from "./host-fetch.ts"
export type { Sandbox, SandboxOptions, SandboxRun, SandboxStats } from "./sandbox.ts"
export { SANDBOX_LEVELS, SANDBOX_LIMIT_CEILINGS, isSandboxLevel, resolveLimits } from "./levels.ts"
export type { FetchLimits, LevelSpec, SandboxGlobal, SandboxLevel, SandboxLimits } from "./levels.ts"
export { SANDBOX_ERROR_CODES, SandboxError, isSandboxError } from "./sandbox-error.ts"
export type { SandboxErrorCode, SandboxLog } from "./sandbox-error.ts"
export { INSTALL_HINT, requirePeer } from "./load-isolated-vm.ts"
export { tenantSandbox } from "./tenant-sandbox.ts"
export type { TenantSandbox, TenantSandboxRun } from "./tenant-sandbox.ts"
