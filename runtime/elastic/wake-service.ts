/**
 * Wake by type (`ants.<tenant>.wake.<type>`, subjects/wake.ts): one node hosting the type (a
 * queue group per type) picks the instance and wakes it with the runtime tag `_Wake`, carrying
 * the reason and the keep-alive, then answers `{type, id, created, status}`.
 *
 * Which instance, as the seed's wake has it ("restore a sleeping instance of the type from its
 * checkpoint, or create one"): with `new`, a new id (`<type>-<8 hex>`); otherwise an instance
 * asleep on this node, else the first stored instance of the type in the tenant (its checkpoint
 * in `ants_state`; waking one already awake elsewhere only refreshes its keep-alive), else a new
 * one. The wake itself goes to the actor's subject, so the owning node activates it.
 */
import { randomUUID } from "node:crypto"
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core"
import { Kvm, type KV } from "@nats-io/kv"
import { decodeReply, encodeError, encodeOk } from "../../subjects/envelope.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { STATE_BUCKET } from "../../subjects/kv.ts"
import { decodeWakeRequest, parseWakeTypeSubject, typeStateKeys, wakeTypePatternAllTenants, type WakeTypeReply } from "../../subjects/wake.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** What the wake service needs of a hosted type. */
export interface WakeableType {
  readonly definition: { readonly type: string }
  /** Actors of the type asleep on this node. */
  sleepingActors(): Iterable<{ readonly tenant: string; readonly id: string }>
}

export interface WakeServiceDeps {
  readonly nc: NatsConnection
  readonly hosts: ReadonlyMap<string, WakeableType>
  readonly log: (level: "info" | "warn" | "error", message: string) => void
  /** How long the actor's own `_Wake` may take (default 10 s: an activation restores state). */
  readonly timeoutMs?: number
}

/** Subscribes the node to wakes by type for every type it hosts; returns the subscriptions. */
export function serveWakesByType(d: WakeServiceDeps): Subscription[] {
  let kv: Promise<KV> | undefined
  const stateKv = () => (kv ??= new Kvm(d.nc).open(STATE_BUCKET))

  /** The first stored instance of the type in the tenant, or undefined. */
  const storedInstance = async (tenant: string, type: string): Promise<string | undefined> => {
    const keys = await (await stateKv()).keys(typeStateKeys(tenant, type))
    for await (const k of keys) {
      const id = k.split(".")[2]
      if (id !== undefined && !id.startsWith("_")) return id
    }
    return undefined
  }

  const pick = async (tenant: string, type: string, fresh: boolean): Promise<{ id: string; created: boolean }> => {
    if (!fresh) {
      for (const a of d.hosts.get(type)?.sleepingActors() ?? []) if (a.tenant === tenant) return { id: a.id, created: false }
      const stored = await storedInstance(tenant, type).catch(() => undefined)
      if (stored !== undefined) return { id: stored, created: false }
    }
    return { id: `${type}-${randomUUID().replace(/-/g, "").slice(0, 8)}`, created: true }
  }

  const answer = async (m: Msg) => {
    const respond = (body: Uint8Array) => {
      try {
        m.respond(body)
      } catch {
        // the caller is gone or the connection closes
      }
    }
    let target
    try {
      target = parseWakeTypeSubject(m.subject)
    } catch (e) {
      return respond(encodeError("invalid_subject", (e as Error).message))
    }
    let req
    try {
      req = decodeWakeRequest(m.data.length === 0 ? undefined : JSON.parse(decoder.decode(m.data)))
    } catch (e) {
      return respond(encodeError("invalid_message", `a wake body is JSON: ${(e as Error).message}`))
    }
    if ("problem" in req) return respond(encodeError("invalid_message", req.problem))
    const { tenant, type } = target
    const { id, created } = await pick(tenant, type, req.new === true)
    const body = { ...(req.reason ? { reason: req.reason } : {}), ...(req.keepAliveMinutes !== undefined ? { keepAliveMinutes: req.keepAliveMinutes } : {}), ...(req.sleepAfterMinutes !== undefined ? { sleepAfterMinutes: req.sleepAfterMinutes } : {}) }
    try {
      const r = await d.nc.request(agentSubject({ tenant, type, id, tag: "_Wake" }), encoder.encode(JSON.stringify(body)), { timeout: d.timeoutMs ?? 10_000 })
      const env = decodeReply(r.data)
      if (!env.ok) return respond(r.data)
      const value: WakeTypeReply = { type, id, created, status: String((env.value as { status?: unknown }).status ?? "active") }
      d.log("info", `woke ${type}/${id}${tenant === "default" ? "" : ` of tenant ${tenant}`}${created ? " (new)" : ""}${req.reason ? `: ${req.reason}` : ""}${req.keepAliveMinutes ? `, kept awake ${req.keepAliveMinutes} min` : ""}`)
      respond(encodeOk({ ...value, ...((env.value as { lifecycle?: string }).lifecycle ? { lifecycle: (env.value as { lifecycle: string }).lifecycle } : {}) }))
    } catch (e) {
      respond(encodeError("unavailable", `could not wake ${type}/${id}: ${(e as Error).message}; retry`))
    }
  }

  return [...d.hosts.keys()].map((type) =>
    d.nc.subscribe(wakeTypePatternAllTenants(type), {
      queue: `ants-wake-${type}`,
      callback: (_e, m) => void answer(m).catch((e: unknown) => d.log("warn", `wake by type on ${m.subject} failed: ${(e as Error).message}`)),
    }),
  )
}
