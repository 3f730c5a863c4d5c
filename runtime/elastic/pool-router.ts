/**
 * The router of a type's pool in a tenant, on every node hosting the type: it receives what is
 * sent to `ants.<tenant>.agent.<type>._pool.<Tag>` (on the node whose partition subscription
 * takes it) and to the spread address `ants.<tenant>.pool.<type>.<Tag>` (one queue group of
 * every node hosting the type), hands each message to an idle member and relays the member's
 * reply to the caller. Members are `<prefix>0 … <prefix>size-1`, each placed on the node that
 * owns its id, so a pool spreads over the cluster as its actors do. Routing has no single node:
 * each router counts what it relayed to each member, and sees the members that live on its own
 * node busy with other routers' work (`busyHere`); the pool's size is shared in KV.
 *
 * Scaling rules (the pool's size lives in KV `ants_pools`, pool-state.ts); growth on demand by
 * any router, the rest by the node that owns the id `_pool` only:
 * - on demand: a message that finds no idle member (every member has a message in flight from
 *   this router) grows the pool by one when it is below `max`, and goes to the new member;
 * - on signals: every tick the router reads the type's load (its members busy / size, and the
 *   `load` pheromones nodes deposit for the type, load-reporter.ts); at `scaleUpAt` (0.9, the
 *   seed's critical mark) it grows by one, at most once per `cooldownMs`;
 * - idle: the top member above `min` that served nothing for `scaleDownAfterMs` leaves the
 *   pool (its node lets it passivate), one member per tick.
 * Each growth is timed from the decision to the new member's first answer (`scaleUpMs`), and
 * each change is a receipt (`record`). A node that takes `_pool` over applies the rules from the
 * size in KV and its own counts.
 */
import { headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/nats-core"
import { routeSubject } from "../../subjects/cluster.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { encodeError, encodeOk, type ErrorCode } from "../../subjects/envelope.ts"
import { agentSubject } from "../../subjects/grammar.ts"
import { POOL_HOP_HEADER, POOL_ID, poolKey, poolMemberId } from "../../subjects/elastic.ts"
import type { PoolSpec } from "./pool-spec.ts"
import type { PoolRecord, PoolState } from "./pool-state.ts"

export type ElasticRecord = (tenant: string, kind: string, detail: Record<string, unknown>) => Promise<void>
type Log = (level: "info" | "warn" | "error", message: string) => void

export interface ScaleEvent {
  readonly at: number
  readonly direction: "up" | "down"
  readonly from: number
  readonly to: number
  readonly reason: string
  /** Growth only: ms from the decision to the new member's first answer (undefined until it answered). */
  scaleUpMs?: number
}

interface Live {
  readonly tenant: string
  readonly type: string
  spec: PoolSpec
  size: number
  readonly inflight: number[]
  readonly lastBusy: number[]
  rr: number
  /** Messages this router handed to another node's router. */
  handedOn: number
  lastGrowAt: number
  served: number
  /** Growths waiting for the new member's first answer, by member index. */
  readonly pendingUp: Map<number, ScaleEvent>
  readonly events: ScaleEvent[]
  /** Serializes this router's writes of the pool's size. */
  writing: Promise<unknown>
}

export interface PoolStatus {
  readonly tenant: string
  readonly type: string
  readonly router: string
  readonly size: number
  readonly min: number
  readonly max: number
  readonly members: ReadonlyArray<{ id: string; inflight: number }>
  readonly idle: number
  readonly served: number
  /** Messages this router handed to another node's router (its members there looked idle). */
  readonly handedOn: number
  readonly load: number
  readonly events: ReadonlyArray<ScaleEvent>
}

export interface PoolRouterDeps {
  readonly nodeId: string
  readonly nc: NatsConnection
  readonly state: PoolState
  specOf(tenant: string, type: string): PoolSpec | undefined
  /** Whether a member lives on this node and is busy or has mail queued (work other routers gave it). */
  busyHere?(tenant: string, type: string, id: string): boolean
  /** The node that owns a member (undefined when none is known). */
  ownerOf?(type: string, id: string): string | undefined
  /** The strongest live load of the type in the tenant, from the nodes' load pheromones (0..1). */
  signalLoad(tenant: string, type: string): number
  readonly record?: ElasticRecord
  readonly log: Log
}

const EVENTS_KEPT = 20

export function createPoolRouter(d: PoolRouterDeps) {
  const live = new Map<string, Live>()

  const liveOf = (tenant: string, type: string, spec: PoolSpec): Live => {
    const key = poolKey(tenant, type)
    let l = live.get(key)
    if (!l) {
      const rec = d.state.get(tenant, type)
      l = { tenant, type, spec, size: 0, inflight: [], lastBusy: [], rr: 0, handedOn: 0, lastGrowAt: 0, served: 0, pendingUp: new Map(), events: [], writing: Promise.resolve() }
      live.set(key, l)
      adopt(l, rec)
    }
    l.spec = spec
    l.size = Math.min(spec.max, Math.max(spec.min, l.size))
    return l
  }

  /** Takes the size from KV (another router's step, or the record at first sight). */
  const adopt = (l: Live, rec: PoolRecord | undefined) => {
    const now = Date.now()
    const size = Math.min(l.spec.max, Math.max(l.spec.min, rec?.size ?? l.spec.min))
    for (let i = l.inflight.length; i < Math.max(size, l.size); i++) {
      l.inflight.push(0)
      l.lastBusy.push(now)
    }
    l.size = size
  }

  const member = (l: Live, i: number) => poolMemberId(l.spec.prefix, i)

  const persist = (l: Live, reason: string) => {
    const target = l.size
    l.writing = l.writing.then(async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const rec = d.state.get(l.tenant, l.type) ?? (await d.state.ensure(l.tenant, l.type, l.spec.min, l.spec.max, d.nodeId))
        if (rec.size === target) return
        if (await d.state.resize(rec, target, d.nodeId, reason)) return
      }
      d.log("warn", `pool ${l.tenant}/${l.type}: could not store size ${target} (other writers); kept locally`)
    }).catch((e) => d.log("warn", `pool ${l.tenant}/${l.type}: storing size ${target} failed: ${(e as Error).message}`))
  }

  const noteEvent = (l: Live, e: ScaleEvent) => {
    l.events.push(e)
    if (l.events.length > EVENTS_KEPT) l.events.shift()
  }

  const receipt = (l: Live, kind: string, e: ScaleEvent) => {
    d.log("info", `pool ${l.tenant}/${l.type} ${e.direction === "up" ? "grew" : "shrank"} ${e.from} -> ${e.to} (${e.reason})${e.scaleUpMs !== undefined ? `, new member serving after ${e.scaleUpMs} ms` : ""}`)
    d.record?.(l.tenant, kind, { type: l.type, from: e.from, to: e.to, reason: e.reason, at: new Date(e.at).toISOString(), node: d.nodeId, ...(e.scaleUpMs !== undefined ? { scaleUpMs: e.scaleUpMs } : {}) }).catch((err) =>
      d.log("warn", `pool ${l.tenant}/${l.type}: receipt ${kind} not recorded: ${(err as Error).message}`),
    )
  }

  const grow = (l: Live, reason: string, decidedAt: number): number => {
    const i = l.size
    if (l.inflight.length <= i) {
      l.inflight.push(0)
      l.lastBusy.push(decidedAt)
    }
    l.lastBusy[i] = decidedAt
    l.size = i + 1
    l.lastGrowAt = decidedAt
    const e: ScaleEvent = { at: decidedAt, direction: "up", from: i, to: i + 1, reason }
    noteEvent(l, e)
    l.pendingUp.set(i, e)
    persist(l, reason)
    return i
  }

  /** The new member answered for the first time: the growth is complete. */
  const served = (l: Live, i: number) => {
    const e = l.pendingUp.get(i)
    if (!e) return
    l.pendingUp.delete(i)
    e.scaleUpMs = Date.now() - e.at
    receipt(l, "pool_scaled_up", e)
  }

  /** A member's work as this router knows it: what it relayed there, and 1 more when the member is here and busy (another router's work). */
  const work = (l: Live, i: number) => l.inflight[i]! + (d.busyHere?.(l.tenant, l.type, member(l, i)) ? 1 : 0)

  const pick = (l: Live): number => {
    let best = -1
    let bestWork = Infinity
    for (let k = 0; k < l.size; k++) {
      const i = (l.rr + k) % l.size
      const w = work(l, i)
      if (w < bestWork) {
        best = i
        bestWork = w
      }
      if (bestWork === 0) break
    }
    l.rr = l.size > 0 ? (l.rr + 1) % l.size : 0
    if ((best < 0 || bestWork > 0) && l.size < l.spec.max) {
      return grow(l, best < 0 ? "first message, pool empty" : `no idle member of ${l.size}`, Date.now())
    }
    return best
  }

  /** An idle member living on this node (no work here, none relayed by this router), in turn; -1 when none. */
  const pickHere = (l: Live): number => {
    for (let k = 0; k < l.size; k++) {
      const i = (l.rr + k) % l.size
      if (d.ownerOf?.(l.type, member(l, i)) === d.nodeId && work(l, i) === 0) {
        l.rr = (i + 1) % l.size
        return i
      }
    }
    return -1
  }

  /** Hands the message to the router on `node` (once: it does not hand it on again); that router answers the caller. */
  const handOn = (l: Live, node: string, msg: Msg, tag: string): void => {
    const h = natsHeaders()
    if (msg.headers) for (const [k, vs] of msg.headers) for (const v of vs) h.append(k, v)
    h.set(POOL_HOP_HEADER, "1")
    const parts = { tenant: l.tenant, type: l.type, id: POOL_ID, tag }
    d.nc.publish(routeSubject(node, partitionOf(l.type, POOL_ID), parts), msg.data, { headers: h, ...(msg.reply ? { reply: msg.reply } : {}) })
    l.handedOn++
  }

  const relay = (l: Live, i: number, msg: Msg, tag: string) => {
    l.inflight[i]++
    const subject = agentSubject({ tenant: l.tenant, type: l.type, id: member(l, i), tag })
    d.nc
      .request(subject, msg.data, { timeout: l.spec.relayTimeoutMs, ...(msg.headers ? { headers: msg.headers } : {}) })
      .then(
        (reply) => {
          served(l, i)
          if (msg.reply) msg.respond(reply.data)
        },
        (e: Error & { code?: string }) => {
          const noResponders = /no responders/i.test(e.message) || e.code === "503"
          const code: ErrorCode = noResponders ? "unavailable" : "timeout"
          if (msg.reply) msg.respond(encodeError(code, `pool ${l.tenant}/${l.type}: member ${member(l, i)} did not answer (${e.message})`))
        },
      )
      .finally(() => {
        l.inflight[i] = Math.max(0, l.inflight[i] - 1)
        l.lastBusy[i] = Date.now()
        l.served++
      })
  }

  const localLoad = (l: Live): number => {
    if (l.size === 0) return 0
    let busy = 0
    for (let i = 0; i < l.size; i++) if (l.inflight[i] > 0) busy++
    return busy / l.size
  }

  const status = (l: Live): PoolStatus => ({
    tenant: l.tenant,
    type: l.type,
    router: d.nodeId,
    size: l.size,
    min: l.spec.min,
    max: l.spec.max,
    members: Array.from({ length: l.size }, (_, i) => ({ id: member(l, i), inflight: l.inflight[i] ?? 0 })),
    idle: Array.from({ length: l.size }, (_, i) => l.inflight[i] ?? 0).filter((n) => n === 0).length,
    served: l.served,
    handedOn: l.handedOn,
    load: Math.max(localLoad(l), d.signalLoad(l.tenant, l.type)),
    events: [...l.events],
  })

  return {
    /** Routes one message sent to the pool; a refusal for the caller to answer, or undefined when taken. */
    route(msg: Msg, p: { tenant: string; type: string; tag: string }): { code: ErrorCode; message: string } | undefined {
      const spec = d.specOf(p.tenant, p.type)
      if (spec === undefined) {
        return { code: "unknown_type", message: `agent type "${p.type}" has no pool in tenant "${p.tenant}": declare warmPool {min, max} on it, or configure one for the tenant` }
      }
      const l = liveOf(p.tenant, p.type, spec)
      if (p.tag === "_Inspect") {
        if (msg.reply) msg.respond(encodeOk(status(l)))
        return undefined
      }
      // handed on by another router: an idle member here (known exactly), else the estimate
      const handed = msg.headers?.get(POOL_HOP_HEADER) === "1"
      const here = handed ? pickHere(l) : -1
      const i = here >= 0 ? here : pick(l)
      if (i < 0) return { code: "overloaded", message: `pool ${p.tenant}/${p.type} has no member (max ${spec.max})` }
      // a member that looks idle on another node: that node's router picks among its members, whose work it knows exactly
      const owner = d.ownerOf?.(l.type, member(l, i))
      if (!handed && owner !== undefined && owner !== d.nodeId && l.inflight[i] === 0 && !l.pendingUp.has(i)) handOn(l, owner, msg, p.tag)
      else relay(l, i, msg, p.tag)
      return undefined
    },

    /** One step of the scaling rules for every pool this node routes. */
    tick(now: number, routes: (tenant: string, type: string) => boolean): void {
      for (const rec of d.state.pools.values()) {
        // every node routes what it takes; the scaling rules run on the node owning `_pool` only
        if (!routes(rec.tenant, rec.type)) continue
        const spec = d.specOf(rec.tenant, rec.type)
        if (!spec) continue
        const l = liveOf(rec.tenant, rec.type, spec)
        const load = Math.max(localLoad(l), d.signalLoad(l.tenant, l.type))
        if (load >= spec.scaleUpAt && l.size < spec.max && now - l.lastGrowAt >= spec.cooldownMs) {
          const i = grow(l, `load ${load.toFixed(2)} ≥ ${spec.scaleUpAt}`, now)
          // a growth on signals has no message for the new member: wake it, and time its answer
          d.nc
            .request(agentSubject({ tenant: l.tenant, type: l.type, id: member(l, i), tag: "_Wake" }), new Uint8Array(0), { timeout: 30_000 })
            .then(() => served(l, i), (e: Error) => d.log("warn", `pool ${l.tenant}/${l.type}: new member ${member(l, i)} did not wake: ${e.message}`))
          continue
        }
        const top = l.size - 1
        if (l.size > spec.min && load < spec.scaleUpAt && work(l, top) === 0 && !l.pendingUp.has(top) && now - l.lastBusy[top] >= spec.scaleDownAfterMs) {
          const e: ScaleEvent = { at: now, direction: "down", from: l.size, to: top, reason: `${member(l, top)} idle for ${now - l.lastBusy[top]} ms` }
          l.size = top
          noteEvent(l, e)
          persist(l, e.reason)
          receipt(l, "pool_scaled_down", e)
        }
      }
    },

    /** The pool's size changed in KV (another router, or this one): adopt it unless this router moved on. */
    adopt(rec: PoolRecord): void {
      const l = live.get(poolKey(rec.tenant, rec.type))
      if (l && rec.by !== d.nodeId) adopt(l, rec)
    },

    status(tenant: string, type: string): PoolStatus | undefined {
      const l = live.get(poolKey(tenant, type))
      return l ? status(l) : undefined
    },
  }
}

export type PoolRouter = ReturnType<typeof createPoolRouter>
