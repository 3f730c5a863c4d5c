/**
 * The registry on NATS: a node answers `ants.<tenant>.tools.<Op>` (subjects/tools.ts) for every
 * tenant it serves, in the queue group `ants-tools` (each request answered by one node), with
 * the reply envelope. The tenant is the subject's, which the server lets only that tenant's
 * principal (or the runtime's) publish on. A body that is not JSON, too deep or carries
 * prototype keys is answered `invalid_message`; nothing a request holds crashes the node.
 *
 *   Register  {name, source, schema, resultSchema?, description?, level?, fetchAllow?, env?} → the head
 *   List      {}                                   → {tools: [ToolInfo]}
 *   Get       {name}                               → ToolInfo
 *   Run       {name, args}                         → {value, version, durationMs, deprecated?}
 *   Deprecate {name, replacement, reason?}         → the head
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core"
import { encodeError, encodeOk, type ErrorCode } from "../../subjects/envelope.ts"
import { TOOLS_QUEUE, TOOLS_WILDCARD, parseToolsSubject, toolsTenantWildcard, type ToolOp } from "../../subjects/tools.ts"
import { parseJsonSafe } from "../limits/mod.ts"
import { isToolError } from "./errors.ts"
import type { ToolRegistry } from "./registry.ts"

export interface ToolServiceOptions {
  /** Serve only these tenants (a node pinned to tenants); default every tenant. */
  readonly tenants?: ReadonlyArray<string>
  /** Refuses a tenant's requests (a suspended tenant): the code and message to answer. */
  readonly admit?: (tenant: string) => { readonly code: ErrorCode; readonly message: string } | undefined
  readonly log?: (level: "info" | "warn" | "error", message: string) => void
}

export interface ToolService {
  /** Requests being answered now. */
  inFlight(): number
  stop(): void
}

const decoder = new TextDecoder()

type Body = Record<string, unknown>

async function answer(registry: ToolRegistry, tenant: string, op: ToolOp, b: Body): Promise<unknown> {
  switch (op) {
    case "Register":
      return await registry.register(tenant, b as never)
    case "List":
      return { tools: await registry.list(tenant) }
    case "Get":
      return await registry.get(tenant, b.name as string)
    case "Run":
      return await registry.run(tenant, b.name as string, b.args ?? {})
    case "Deprecate":
      return await registry.deprecate(tenant, b.name as string, { replacement: b.replacement as string, ...(typeof b.reason === "string" ? { reason: b.reason } : {}) })
  }
}

export function serveTools(nc: NatsConnection, registry: ToolRegistry, options: ToolServiceOptions = {}): ToolService {
  let inFlight = 0
  const reply = (m: Msg, data: Uint8Array) => {
    if (!m.reply) return
    try {
      m.respond(data)
    } catch (e) {
      options.log?.("warn", `tools: could not answer ${m.subject}: ${(e as Error).message}`)
    }
  }
  const handle = async (m: Msg) => {
    const parsed = parseToolsSubject(m.subject)
    if (!parsed) return reply(m, encodeError("invalid_subject", `${m.subject} is not a registry subject: ants.<tenant>.tools.<Register|List|Get|Run|Deprecate>`))
    const refused = options.admit?.(parsed.tenant)
    if (refused) return reply(m, encodeError(refused.code, refused.message))
    let body: Body
    try {
      const text = m.data.length === 0 ? "{}" : decoder.decode(m.data)
      const v = parseJsonSafe(text)
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("the body must be a JSON object")
      body = v as Body
    } catch (e) {
      return reply(m, encodeError("invalid_message", `${parsed.op}: ${(e as Error).message}`))
    }
    inFlight++
    try {
      reply(m, encodeOk(await answer(registry, parsed.tenant, parsed.op, body)))
    } catch (e) {
      if (isToolError(e)) reply(m, encodeError(e.code, e.message, e.details))
      else {
        options.log?.("warn", `tools: ${parsed.op} of tenant ${parsed.tenant} failed: ${(e as Error)?.message ?? e}`)
        reply(m, encodeError("unavailable", `${parsed.op} failed: ${(e as Error)?.message ?? e}`))
      }
    } finally {
      inFlight--
    }
  }
  const subjects = options.tenants ? options.tenants.map(toolsTenantWildcard) : [TOOLS_WILDCARD]
  const subs: Subscription[] = subjects.map((s) => nc.subscribe(s, { queue: TOOLS_QUEUE, callback: (_e, m) => void handle(m) }))
  return {
    inFlight: () => inFlight,
    stop() {
      for (const s of subs) s.unsubscribe()
    },
  }
}
