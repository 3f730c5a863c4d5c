/**
 * Layer `security`: who may connect and what they may do. How every connection authenticates
 * (the `nats` CLI's conventions: URL credentials, user/password, token, creds, nkey, TLS, the
 * environment), the principals `ants auth init` writes (nodes, operator, tenants) and the server
 * configuration that knows them, the tenant bucket behind the kill switch and quotas, the
 * per-tenant policy a node applies, checks before a local file or process is trusted, and the
 * table of nats-server versions with published vulnerabilities.
 *
 * Promises: credentials are never printed (`redactUrl`); seeds are written 0600 in a 0700
 * folder and the server configuration holds public keys only; a file or process is trusted
 * only when it is ours and what it claims to be; a tenant's standing is read from KV, so it
 * survives restarts.
 * May import: subjects/, limits/ (the token bucket of the message-rate quota) and the NATS client
 * libraries; nothing else in runtime/.
 * Never imports: any other runtime layer (server, client, cluster, node and cli import it).
 */
export { AuthInitError, DEFAULT_ROUTES, ROUTE_USER, authInit, renderAuthConf, renderRoutesConf, renderServerConf, tenantSeedFile } from "./auth-init.ts"
export type { AuthInitOptions, AuthInitResult, Principal } from "./auth-init.ts"
export { DEFAULT_NATS_URL, SecurityConfigError, connectionOptions, credsFromFile, redactUrl, seedFromFile, splitUrlCredentials } from "./connection-options.ts"
export type { Credentials, ResolvedConnection } from "./connection-options.ts"
export { SERVER_ADVISORIES, isAffected, serverVulnerabilities } from "./server-cves.ts"
export type { ServerAdvisory } from "./server-cves.ts"
export { readTenant, resumeTenant, setTenantQuotas, suspendTenant, tenantsBucket, watchTenants } from "./tenant-control.ts"
export { TenantPolicy } from "./tenant-policy.ts"
export type { TenantPolicyOptions } from "./tenant-policy.ts"
export { authorizationBlock, runCredentials } from "./run-credentials.ts"
export type { RunCredentials } from "./run-credentials.ts"
export { commandLineOf, distrustOf, distrustServerPid, privateDir } from "./trusted-file.ts"
export type { Distrust } from "./trusted-file.ts"
