/**
 * A node's part in the swarm: membership, partition ownership, forwarding,
 * single activation, graceful hand-over, durable mail and inspection. node.ts calls in at five
 * points only: `forward` on the hot path, `guard` around activations, `start`,
 * `heldTasksChanged` when it takes a task, and `leave`/`close` when draining.
 *
 * Ownership: the owner of an actor is the rendezvous winner for its partition among the `up`
 * members that host its type (rendezvous.ts). A node subscribes to every partition it owns
 * (queue group per partition), so a partition briefly claimed by two nodes still delivers each
 * message once.
 *
 * Forwarding: a message that reaches a node which neither has the actor active nor owns it is
 * published to the owner's route subject (routeSubject in subjects/cluster.ts) with the original
 * reply subject, so exactly one node handles it and the reply goes straight to the caller.
 * Header `Ants-Hops` bounds the hops (8); past it the caller gets `unavailable`. A node whose
 * lease refusal says another live node holds the actor forwards the queued messages there.
 *
 * Hand-over (join, graceful leave, SIGTERM): the gaining node subscribes first and advertises
 * the partition in its membership entry (`serving`); the losing node keeps serving until it
 * sees that (or `handoverTimeoutMs` passed), then drains its subscription (messages already
 * sent to it are still handled or forwarded), lets each actor of the partition finish what is
 * queued, checkpoints it, stops it and releases its lease. Until then the gaining node
 * forwards that actor's messages to the holder. So no ask in flight fails during a graceful
 * rebalance; an actor's messages may be reordered across the hand-over.
 *
 * Crash: the dead node's entry expires (membership.ts), survivors recompute ownership and
 * subscribe; the first message to one of its actors takes the lease over (its holder is no
 * longer a member) and restores the last checkpoint.
 */
import { randomUUID } from "node:crypto"
import { errors, headers as natsHeaders, type Msg, type Subscription } from "@nats-io/nats-core"
import {
  HOPS_HEADER,
  LEASES_BUCKET,
  MAIL_DEAD_STREAM,
  MAIL_STREAM,
  MEMBERS_BUCKET,
  NODES_ACTORS_SUBJECT,
  NODES_MEMBERS_SUBJECT,
  nodeActorsSubject,
  nodeMembersSubject,
  routeSubject,
  routeSubscription,
} from "../../subjects/cluster.ts"
import { encodeError } from "../../subjects/envelope.ts"
import { PARTITIONS, ROOT, partitionQueue, partitionSubscription, SubjectError, type AgentSubjectParts, type ParsedInbound } from "../../subjects/grammar.ts"
import { actorKey, parseInboundOnce, toInbound, type Inbound } from "../actor/inbound.ts"
import type { ActorCell } from "../actor/cell.ts"
import type { TypeHost } from "../actor/type-host.ts"
import type { ActivationGuard } from "../actor/activation-guard.ts"
import { startMailDelivery, type MailDelivery } from "./durable-mail.ts"
import { clusterGuarantees, storeReplicas, type Guarantees, type StoreReplicas } from "./guarantees.ts"
import { Leases, isLeaseHeldError } from "./leases.ts"
import { Membership } from "./membership.ts"
import { createInspection, type ActorInfo, type NodeMembersInfo } from "./inspection.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { assignPartitions } from "./rendezvous.ts"
import { CLUSTER_DEFAULTS, type Cluster, type ClusterDeps, type ClusterOptions, type ClusterView, type PartitionSubscription } from "./cluster-options.ts"

export { CLUSTER_DEFAULTS }
export type { ActorInfo, NodeMembersInfo, Cluster, ClusterDeps, ClusterOptions, ClusterView }

/** How long a node relays the reply of an ask it forwarded (handlers may be slow, e.g. LLM calls). */
const FORWARD_TIMEOUT_MS = 300_000

function isNoResponders(e: unknown): boolean {
  return (e instanceof errors.RequestError && e.isNoResponders()) || /no responders/i.test(String((e as Error)?.message))
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export function createCluster(deps: ClusterDeps, options: ClusterOptions = {}): Cluster {
  const { id: me, nc, hosts, log } = deps
  const incarnation = randomUUID().slice(0, 8)
  const handoverTimeoutMs = options.handoverTimeoutMs ?? CLUSTER_DEFAULTS.handoverTimeoutMs
  const shape = { version: nc.info?.version ?? "0.0.0", clustered: Boolean(nc.info?.cluster), replicas: deps.replicas }
  // refined at start, once the stores exist and their real replicas can be read from the server
  let guarantees: Guarantees = clusterGuarantees(shape)

  const subs = new Map<number, PartitionSubscription>()
  const releasing = new Map<number, number>()
  const handing = new Set<ActorCell>()
  const owners = new Map<string, Array<string | undefined>>()
  const other: Subscription[] = []
  let routing: "partitioned" | "direct" = "partitioned"
  let started = false
  let leaving = false
  let closed = false
  let viewChangedAt = Date.now()
  let forwarded = 0
  let refusedOutOfTouch = 0
  /** Asks forwarded by this node whose reply it still has to relay (close waits for them). */
  let relaying = 0
  let handedOver = 0
  let mail: MailDelivery | undefined
  let progressTimer: ReturnType<typeof setTimeout> | undefined
  let reconcileQueued = false
  /** When each node was last taken for dead (durable deliveries to its actors then stop waiting). */
  const deaths = new Map<string, number>()

  const membership = new Membership(deps.controlNc ?? nc, {
    nodeId: me,
    incarnation,
    types: () => [...hosts.keys()],
    replicas: deps.replicas,
    heartbeatMs: options.heartbeatMs,
    expiryMs: options.expiryMs,
    log: (l, m) => log(l, m),
    onChange: () => {
      owners.clear()
      queueReconcile()
    },
    onSelfExpired: () => recheck("its membership entry had expired"),
    heldTasks: deps.heldTasks,
    onDead: (node, last) => {
      deaths.set(node, Date.now())
      const live = [...membership.members.keys()].filter((n) => n !== node).sort()
      try {
        deps.onNodeDead?.(node, last, live[0] === me)
      } catch (e) {
        log("warn", `handling the death of node ${node} failed: ${(e as Error).message}`)
      }
    },
    onResumed: () => recheck(`it could not heartbeat for more than ${membership.expiryMs} ms`),
  })
  const leases = new Leases(nc, {
    nodeId: me,
    incarnation,
    replicas: deps.replicas,
    leaseTtlMs: options.leaseTtlMs,
    isLive: (n) => membership.isLive(n), heardAgo: (n) => membership.heardAgo(n), takeoverAfterMs: membership.expiryMs,
    log: (l, m) => log(l, m),
  })

  // --- out of touch ------------------------------------------------------------------------
  // Silent for `expiryMs - heartbeatMs`, a node refuses messages (`unavailable`) until a beat lands
  // and its leases are re-checked: others take its actors over `expiryMs` after they last heard
  // it (leases.ts), never before its last landed beat was sent, so it stops before they start.
  let resuming: Promise<void> | null = null
  const recheck = (why: string) => {
    if (resuming !== null) return
    resuming = leases
      .verifyAll()
      .then((n) => {
        if (n > 0) log("warn", `${n} actor(s) of node ${me} were taken over by other nodes because ${why}; their activations here stopped`)
      })
      .catch(() => undefined)
      .finally(() => {
        resuming = null
      })
  }
  const outOfTouch = () => !leaving && (resuming !== null || membership.silentFor() > membership.expiryMs - membership.heartbeatMs)

  // --- ownership ---------------------------------------------------------------------------
  const ownersOf = (type: string): Array<string | undefined> => {
    let a = owners.get(type)
    if (a === undefined) {
      a = assignPartitions(membership.candidates(type))
      owners.set(type, a)
    }
    return a
  }
  const ownerFor = (type: string, part: number) => ownersOf(type)[part]
  const serves = (node: string, part: number) => membership.members.get(node)?.record.serving.includes(part) ?? false
  const wanted = (): Set<number> => {
    const want = new Set<number>()
    if (leaving || routing !== "partitioned") return want
    for (const type of hosts.keys()) ownersOf(type).forEach((o, p) => o === me && want.add(p))
    return want
  }

  // --- forwarding --------------------------------------------------------------------------
  const send = (owner: string, part: number, parts: AgentSubjectParts, msg: Msg) => {
    const hops = Number(msg.headers?.get(HOPS_HEADER) || "0") + 1
    if (hops > CLUSTER_DEFAULTS.maxHops) {
      log("warn", `message for ${parts.type}/${parts.id} went round ${hops - 1} nodes while ownership changed; answered unavailable`)
      try {
        if (msg.reply) msg.respond(encodeError("unavailable", `${parts.type}/${parts.id} is moving between nodes; retry`))
      } catch {
        // closing
      }
      return
    }
    const h = natsHeaders()
    if (msg.headers) for (const [k, vs] of msg.headers) for (const v of vs) h.append(k, v)
    h.set(HOPS_HEADER, String(hops))
    const subject = routeSubject(owner, part, parts)
    const go = () => {
      try {
        if (!msg.reply) {
          nc.publish(subject, msg.data, { headers: h })
          return
        }
        // an ask is forwarded as our own request and its reply relayed, so that a holder that
        // has just died ("no responders") is noticed here and the ask re-routed, not lost
        relaying++
        nc.request(subject, msg.data, { headers: h, timeout: FORWARD_TIMEOUT_MS }).finally(() => relaying--).then(
          (r) => {
            try {
              msg.respond(r.data)
            } catch {
              // closing
            }
          },
          (e) => {
            if (isNoResponders(e)) void rerouteAfterLoss(owner, msg, { ...parts, partition: part })
          },
        )
      } catch (e) {
        log("warn", `could not forward ${parts.type}/${parts.id} to ${owner}: ${(e as Error).message}`)
      }
    }
    forwarded++
    const pending = leases.pendingRelease(parts)
    if (pending) void pending.then(go)
    else go()
  }

  const rerouted = new WeakMap<Msg, number>()
  const rerouteAfterLoss = async (gone: string, msg: Msg, p: ParsedInbound) => {
    const tries = (rerouted.get(msg) ?? 0) + 1
    rerouted.set(msg, tries)
    if (tries <= 3) {
      await membership.probe(gone, true)
      if (!membership.isLive(gone)) {
        await sleep(0)
        deps.dispatch(msg, toInbound(p))
        return
      }
    }
    try {
      msg.respond(encodeError("unavailable", `node ${gone} that holds ${p.type}/${p.id} does not answer; retry`))
    } catch {
      // closing
    }
  }

  const forward = (msg: Msg, p: Inbound): false | "forwarded" | { readonly refused: string } => {
    if (!started) return false
    if (outOfTouch()) {
      // refused, not dropped: the node answers (or, for a tell, counts and records) it
      refusedOutOfTouch++
      return { refused: `node ${me} lost touch with the swarm (no heartbeat for ${membership.silentFor()} ms) and is re-checking its actors; retry` }
    }
    const host = hosts.get(p.type)
    if (host !== undefined && host.cells.has(p.key)) return false
    const part = p.part
    const owner = ownerFor(p.type, part)
    if (owner === undefined || owner === me) return false
    // until the new owner serves the partition, it is still ours
    if (subs.has(part) && !serves(owner, part)) return false
    send(owner, part, p, msg)
    return "forwarded"
  }

  const onRouted = (m: Msg) => {
    const t = m.subject.split(".")
    const p = t.length === 10 ? parseInboundOnce(`${ROOT}._part.${t.slice(5).join(".")}`) : new SubjectError(`"${m.subject}" is not a route subject`, "subject", m.subject)
    if (p instanceof SubjectError) {
      try {
        if (m.reply) m.respond(encodeError("invalid_subject", p.message))
      } catch {
        // closing
      }
      return
    }
    deps.dispatch(m, p)
  }

  // --- the activation guard ----------------------------------------------------------------
  const guard: ActivationGuard = {
    async acquire(cell) {
      const tookOver = await leases.acquire(cell, (reason) => {
        log("warn", `${cell.type}/${cell.id}: ${reason}; stopping this activation`)
        cell.host.stop(cell, reason)
      })
      // stopped while we were asking (the type gave up, the node is leaving): give it back
      if (cell.status === "stopped") leases.release(cell)
      return tookOver
    },
    refused(cell, error) {
      if (!isLeaseHeldError(error)) return false
      const part = partitionOf(cell.type, cell.id)
      for (const env of cell.takeQueued()) {
        if (env.msg) send(error.holder, part, { tenant: cell.tenant, type: cell.type, id: cell.id, tag: env.tag }, env.msg)
      }
      return true
    },
    release(cell) {
      leases.release(cell)
    },
  }

  // --- rebalancing ---------------------------------------------------------------------------
  const advertiseServing = () => membership.advertise({ serving: [...subs.keys()] }).catch(() => undefined)

  const queueReconcile = () => {
    if (reconcileQueued) return
    reconcileQueued = true
    setTimeout(() => {
      reconcileQueued = false
      void reconcile()
    }, 0)
  }

  const reconcile = async () => {
    if (!started || closed) return
    owners.clear()
    viewChangedAt = Date.now()
    const want = wanted()
    let gained = false
    for (const p of want) {
      releasing.delete(p)
      if (!subs.has(p)) {
        subs.set(p, deps.subscribePartition ? deps.subscribePartition(p, (m) => deps.dispatch(m)) : nc.subscribe(partitionSubscription(p), { queue: partitionQueue(p), callback: (_e, m) => deps.dispatch(m) }))
        gained = true
      }
    }
    const now = Date.now()
    for (const p of subs.keys()) if (!want.has(p) && !releasing.has(p)) releasing.set(p, now)
    if (gained) {
      await nc.flush().catch(() => undefined)
      await advertiseServing()
    }
    await progress()
  }

  let progressing = false
  let progressAgain = false
  const progress = async (): Promise<void> => {
    if (progressing) {
      progressAgain = true
      return
    }
    progressing = true
    clearTimeout(progressTimer)
    let pending = false
    try {
      const now = Date.now()
      const timedOut = now - viewChangedAt > handoverTimeoutMs
      const drains: Array<Promise<void>> = []
      for (const [p, since] of [...releasing]) {
        const ready = timedOut || now - since > handoverTimeoutMs || [...hosts.keys()].every((t) => {
          const o = ownerFor(t, p)
          return o === undefined || o === me || serves(o, p)
        })
        if (!ready) {
          pending = true
          continue
        }
        releasing.delete(p)
        const sub = subs.get(p)
        subs.delete(p)
        if (sub) {
          let gaveUp: ReturnType<typeof setTimeout> | undefined
          const forced = new Promise<void>((r) => (gaveUp = setTimeout(() => r(sub.unsubscribe()), 2_000)))
          drains.push(Promise.race([sub.drain().catch(() => undefined), forced]).finally(() => clearTimeout(gaveUp)))
        }
      }
      if (drains.length > 0) {
        await Promise.all(drains)
        await advertiseServing()
        // actors that sleep in partitions no longer ours are the new owner's to wake (and book)
        for (const host of hosts.values()) {
          const type = host.definition.type
          host.forgetSleeping((id) => subs.has(partitionOf(type, id)))
        }
      }
      for (const host of hosts.values()) {
        for (const cell of host.cells.values()) {
          if (handing.has(cell) || cell.status === "stopped") continue
          const part = partitionOf(cell.type, cell.id)
          const owner = ownerFor(cell.type, part)
          if (owner === me) continue
          if (owner === undefined && !leaving) continue
          if (owner !== undefined && !timedOut && subs.has(part) && !serves(owner, part)) {
            pending = true
            continue
          }
          void handOver(host, cell, owner)
        }
      }
    } finally {
      progressing = false
    }
    if (progressAgain) {
      progressAgain = false
      return progress()
    }
    if ((pending || releasing.size > 0) && !closed) progressTimer = setTimeout(() => void progress(), 50)
  }

  const handOver = async (host: TypeHost, cell: ActorCell, owner: string | undefined) => {
    handing.add(cell)
    const stopped = () => (cell.status as string) === "stopped"
    try {
      const deadline = Date.now() + deps.shutdownTimeoutMs
      for (;;) {
        while ((cell.busy || cell.status === "warming") && !stopped() && Date.now() < deadline) await sleep(5)
        if (stopped()) return
        if (host.checkpointPolicy !== "never") await cell.checkpointNow(undefined, true) // forced: keeps its cost accounting
        if (stopped()) return
        if ((cell.busy || cell.status === "warming") && Date.now() < deadline) continue
        break
      }
      // still ours after all? (the view changed back meanwhile)
      if (!leaving && ownerFor(cell.type, partitionOf(cell.type, cell.id)) === me) return
      host.stop(cell, owner ? `handed over: its partition moved to node ${owner}` : `node ${me} left`)
      handedOver++
    } catch (e) {
      log("warn", `hand-over of ${cell.type}/${cell.id} failed: ${(e as Error).message}`)
    } finally {
      handing.delete(cell)
    }
  }

  /** For a durable delivery beginning now: has the actor's owner (or holder) been taken for dead since? */
  const watchOwner = (parts: AgentSubjectParts) => {
    const began = Date.now()
    const host = hosts.get(parts.type)
    const here = host?.cells.has(actorKey(parts.tenant, parts.id)) === true
    const owner = here ? me : ownerFor(parts.type, partitionOf(parts.type, parts.id))
    return () => owner !== undefined && owner !== me && (deaths.get(owner) ?? 0) >= began
  }

  // --- inspection ----------------------------------------------------------------------------
  const inspection = createInspection({
    node: me,
    incarnation,
    hosts,
    guarantees: () => guarantees,
    snapshot: () => {
      const self = membership.members.get(me)?.record
      return {
        state: leaving ? "leaving" : "up",
        host: self?.host ?? "",
        startedAt: self?.startedAt ?? "",
        partitions: [...subs.keys()].sort((a, b) => a - b),
        members: [...membership.members.keys()].sort(),
        frozen: membership.frozen,
        leases: leases.held.size,
        takeovers: leases.takeovers,
        forwarded,
        handedOver,
        mail: mail ? { delivered: mail.delivered, retried: mail.retried, deadLettered: mail.deadLettered, inflight: mail.inflight } : null,
        refusedOutOfTouch,
        messages: deps.messages?.() ?? null,
      }
    },
  })
  const { info, actors, answerMembers, answerActors } = inspection

  return {
    incarnation,
    get guarantees() {
      return guarantees
    },
    guard,
    forward,
    members: () => [...membership.members.keys()].sort(),
    partitions: () => [...subs.keys()].sort((a, b) => a - b),
    ownerOf: (type, id) => ownerFor(type, partitionOf(type, id)),
    info,
    actors,

    async start(r) {
      routing = r
      await leases.start()
      other.push(nc.subscribe(routeSubscription(me), { callback: (_e, m) => onRouted(m) }))
      other.push(nc.subscribe(NODES_MEMBERS_SUBJECT, { callback: answerMembers }))
      other.push(nc.subscribe(nodeMembersSubject(me), { callback: answerMembers }))
      other.push(nc.subscribe(NODES_ACTORS_SUBJECT, { callback: answerActors }))
      other.push(nc.subscribe(nodeActorsSubject(me), { callback: answerActors }))
      await nc.flush()
      await membership.start()
      started = true
      // a node that lost its connection may have been taken for dead meanwhile: re-check its leases
      void (async () => {
        for await (const st of nc.status()) {
          if (closed) break
          if (st.type !== "reconnect") continue
          recheck("its connection to NATS was lost for a while")
        }
      })().catch(() => undefined)
      await reconcile()
      if (options.mail !== false) {
        mail = await startMailDelivery(nc, { ...(options.mail ?? {}), replicas: deps.replicas, watchOwner: watchOwner, log: (l, m) => log(l, m) })
      }
      const declared: StoreReplicas[] = [
        { name: MEMBERS_BUCKET, kind: "kv", replicas: deps.replicas },
        { name: LEASES_BUCKET, kind: "kv", replicas: deps.replicas },
        ...(options.mail !== false
          ? [
              { name: MAIL_STREAM, kind: "stream", replicas: deps.replicas } as const,
              { name: MAIL_DEAD_STREAM, kind: "stream", replicas: deps.replicas } as const,
            ]
          : []),
        ...(deps.stores ?? []),
      ]
      guarantees = clusterGuarantees({ ...shape, stores: await storeReplicas(nc, declared) })
      for (const s of guarantees.statements) log("info", s)
      for (const w of guarantees.warnings) log("warn", w)
      log("info", `node ${me} joined the swarm: ${membership.members.size} member(s), serving ${subs.size}/${PARTITIONS} partitions`)
    },

    heldTasksChanged: () => membership.refresh(),
    async leave() {
      if (!started || leaving) return
      await mail?.stop()
      leaving = true
      await membership.advertise({ state: "leaving" })
      owners.clear()
      await reconcile()
      const deadline = Date.now() + handoverTimeoutMs + deps.shutdownTimeoutMs
      const remaining = () => {
        let n = subs.size + handing.size
        for (const h of hosts.values()) n += h.cells.size
        return n
      }
      while (remaining() > 0 && Date.now() < deadline) {
        await progress()
        await sleep(20)
      }
      await leases.settled(deps.shutdownTimeoutMs)
    },

    async close() {
      if (closed) return
      closed = true
      clearTimeout(progressTimer)
      await mail?.stop()
      for (const s of subs.values()) s.unsubscribe()
      subs.clear()
      if (started) await membership.leave()
      else membership.stop()
      // messages forwarded to us meanwhile are passed on by the dispatch path before we go
      let gaveUp: ReturnType<typeof setTimeout> | undefined
      await Promise.race([Promise.all(other.map((s) => s.drain().catch(() => undefined))), new Promise((r) => (gaveUp = setTimeout(r, 2_000)))])
      clearTimeout(gaveUp)
      // replies we relay for asks we forwarded must get out before the connection closes
      const deadline = Date.now() + deps.shutdownTimeoutMs
      while (relaying > 0 && Date.now() < deadline) await sleep(10)
      await leases.settled(deps.shutdownTimeoutMs)
      leases.stop()
    },
  }
}
