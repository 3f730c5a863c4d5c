/**
 * The registry from any connection: `toolsClient(nc, tenant)` makes the registry's requests
 * (`ants.<tenant>.tools.<Op>`) and unwraps their envelopes. A tenant's principal reaches only
 * its own tenant's subjects; the CLI, the MCP server and agents' registry tools use this.
 * Errors are `ToolError`s with the envelope's code (`unavailable` when no node serves the
 * registry).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { toolsSubject, type ToolOp } from "../../subjects/tools.ts"
import { askSubject, isAskError } from "../client/mod.ts"
import { ToolError } from "./errors.ts"
import type { RegisterInput } from "./registry.ts"
import { toJsonSchema } from "./schema.ts"
import type { ToolHead, ToolInfo, ToolRunResult } from "./types.ts"

/** How long a run may take before the caller stops waiting: longer than the permissive level's limit. */
export const DEFAULT_RUN_TIMEOUT_MS = 130_000
/** How long the other requests wait. */
export const DEFAULT_TOOLS_TIMEOUT_MS = 10_000

export interface ToolsClient {
  readonly tenant: string
  register(input: RegisterInput): Promise<ToolHead>
  list(): Promise<ToolInfo[]>
  get(name: string): Promise<ToolInfo>
  run(name: string, args: unknown, options?: { readonly timeoutMs?: number }): Promise<ToolRunResult>
  deprecate(name: string, replacement: string, reason?: string): Promise<ToolHead>
}

export function toolsClient(nc: NatsConnection, tenant: string, options: { readonly timeoutMs?: number } = {}): ToolsClient {
  const request = async (op: ToolOp, body: unknown, timeoutMs = options.timeoutMs ?? DEFAULT_TOOLS_TIMEOUT_MS): Promise<unknown> => {
    try {
      return await askSubject(nc, toolsSubject(tenant, op), Buffer.from(JSON.stringify(body)), timeoutMs)
    } catch (e) {
      if (isAskError(e)) {
        const message = e.code === "unavailable" && /no runtime node/.test(e.message) ? `no runtime node serves the tool registry of tenant ${tenant}: start one with \`npx ants node --agents <module>\`` : e.message
        throw new ToolError(e.code, message, e.details, { cause: e })
      }
      throw e
    }
  }
  return {
    tenant,
    async register(input) {
      const body = { ...input, schema: toJsonSchema(input.schema), ...(input.resultSchema === undefined ? {} : { resultSchema: toJsonSchema(input.resultSchema) }) }
      return (await request("Register", body)) as ToolHead
    },
    list: async () => ((await request("List", {})) as { tools: ToolInfo[] }).tools,
    get: async (name) => (await request("Get", { name })) as ToolInfo,
    run: async (name, args, o) => (await request("Run", { name, args }, o?.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS)) as ToolRunResult,
    deprecate: async (name, replacement, reason) => (await request("Deprecate", { name, replacement, ...(reason ? { reason } : {}) })) as ToolHead,
  }
}
