/**
 * What every route shares: the Hono environment (the authenticated caller), envelope responses
 * with their status, and the tenant a request acts for. A tenant token acts for its own tenant
 * only; an operator token names one with `?tenant=` (default `default`).
 */
import type { Context } from "hono"
import { DEFAULT_TENANT, token } from "../../subjects/grammar.ts"
import { GatewayError, errorBodyOf } from "./errors.ts"
import type { Caller } from "./principals.ts"
import { retryable, statusOf } from "./status-codes.ts"

export type GatewayEnv = { Variables: { caller: Caller } }
export type GatewayContext = Context<GatewayEnv>

export const JSON_TYPE = "application/json; charset=utf-8"

export function okJson(c: Context, value: unknown, status: 200 | 201 | 202 = 200): Response {
  return c.body(JSON.stringify({ ok: true, value: value === undefined ? null : value }), status, { "content-type": JSON_TYPE })
}

/** The error envelope of `e` under its status (and `Retry-After` when retrying may help). */
export function errorResponse(e: unknown): Response {
  const error = errorBodyOf(e)
  const status = error.code === "unauthenticated" ? 401 : statusOf(error.code)
  const headers: Record<string, string> = { "content-type": JSON_TYPE }
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="ants"'
  if (retryable(error.code)) headers["retry-after"] = "1"
  return new Response(JSON.stringify({ ok: false, error }), { status, headers })
}

/** The tenant this request acts for; a tenant token naming another tenant is refused. */
export function tenantOf(c: GatewayContext): string {
  const caller = c.get("caller")
  const asked = c.req.query("tenant")
  if (asked === undefined || asked === "") return caller.operator ? DEFAULT_TENANT : caller.tenant
  const t = token("tenant", asked)
  if (!caller.operator && t !== caller.tenant) {
    throw new GatewayError("forbidden", `this token acts for tenant "${caller.tenant}" only; it may not reach tenant "${t}"`)
  }
  return t
}

export function requireOperator(c: GatewayContext, what: string): void {
  if (!c.get("caller").operator) {
    throw new GatewayError("forbidden", `${what} needs an operator token: a tenant's principal may not read it (the NATS server refuses it)`)
  }
}

/** A whole-number query parameter within bounds, or the default. */
export function intQuery(c: Context, name: string, dflt: number, min: number, max: number): number {
  const v = c.req.query(name)
  if (v === undefined || v === "") return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) throw new GatewayError("invalid_request", `?${name}= takes a whole number from ${min} to ${max}, not "${v}"`)
  return n
}

/** The request body as JSON (an empty body is `{}`); a body that is not JSON is `invalid_message`. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text()
  if (text.trim() === "") return {}
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new GatewayError("invalid_message", `the request body is not JSON: ${(e as Error).message}`)
  }
}
