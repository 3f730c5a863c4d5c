/**
 * What the node's inspection endpoints answer: per-type counters with the cost accounting up to
 * now, and the decoding of a supervision reset request (a bad body is an `EndpointError`, which
 * the endpoint wrapper turns into an `invalid_message` reply).
 */
import { decodeResetRequest } from "../../subjects/supervision.ts"
import { parseIssues } from "../agent/protocol.ts"
import type { TypeHost } from "../actor/type-host.ts"
import type { NodeStats } from "./options.ts"
import type { ResetTarget, SupervisionView } from "./node-supervision.ts"
import { EndpointError } from "./endpoints.ts"

const decoder = new TextDecoder()

export function typeStats(hosts: ReadonlyMap<string, TypeHost>): NodeStats["types"] {
  const types: NodeStats["types"] = {}
  const now = Date.now()
  for (const [name, host] of hosts) {
    let active = 0
    let idle = 0
    let warming = 0
    // cost accounting up to now: closed incarnations plus the running ones
    let activeMs = host.stats.activeMs
    host.sleeping.book(now)
    const sleepingMs = host.stats.sleepingMs
    for (const c of host.cells.values()) {
      if (c.status === "idle") idle++
      else if (c.status === "warming") warming++
      else if (c.status === "active") active++
      activeMs += now - c.activeSince
    }
    types[name] = {
      ...host.stats,
      activeMs,
      sleepingMs,
      active,
      idle,
      warming,
      sleeping: host.sleeping.size,
      ...(host.unavailable ? { unavailable: host.unavailable } : {}),
    }
  }
  return types
}

/** The body of a supervision reset request (`{type?, path?}`; empty means everything). */
export function resetRequest(data: Uint8Array): ResetTarget {
  let body: unknown = {}
  try {
    if (data.length > 0) body = JSON.parse(decoder.decode(data))
  } catch (e) {
    throw new EndpointError("invalid_message", `reset body is not JSON: ${(e as Error).message}`)
  }
  const r = decodeResetRequest(body)
  if (r._tag === "Left") throw new EndpointError("invalid_message", "reset body does not fit {type?, path?}", parseIssues(r.left))
  return r.right
}

/** Resets what the request names; an unknown type or path is the caller's mistake (`invalid_message`). */
export function resetSupervision(view: SupervisionView, data: Uint8Array): ReturnType<SupervisionView["reset"]> {
  const target = resetRequest(data)
  try {
    return view.reset(target)
  } catch (e) {
    throw new EndpointError("invalid_message", (e as Error).message)
  }
}
