/**
 * A node's part in the swarm: membership, partition ownership, forwarding,
 * single activation, graceful hand-over, durable mail and inspection. The node calls in at five
 * points only: `forward` on the hot path, `guard` around activations, `start`,
 * `heldTasksChanged` when it takes a task, and `leave`/`close` when draining.
 *
 * Ownership: the owner of an actor is the rendezvous winner for its partition among the `up`
 * members that host its type (rendezvous.ts). A node subscribes to every partition it owns
 * (queue group per partition), so a partition briefly claimed by two nodes still delivers each
 * message once.
 *
 * Forwarding (forwarding.ts): a message for an actor that is neither active here nor ours goes
 * to its owner's route subject, once. A node whose lease refusal says another live node holds
 * the actor forwards the queued messages there.
 *
 * The engine is seen only through its port (local-actors.ts), never a cell or a host.
 *
 * Hand-over (join, graceful leave, SIGTERM): the gaining node subscribes first and advertises
 * the partition in its membership entry (`serving`); the losing node keeps serving until it has
 * seen that for a grace (releasing.ts) or `handoverTimeoutMs` passed, then drains its
 * subscription (messages sent to it are still handled or forwarded), lets each actor of the
 * partition finish what is queued, checkpoints it, stops it and releases its lease. Until then
 * the gaining node forwards that actor's messages to the holder. So no ask in flight fails
 * during a graceful rebalance; an actor's messages may be reordered across the hand-over.
 *
 * Crash: a member whose heartbeat is late, or whose partition a caller found unserved
 * (unserved.ts), is pinged; once it is gone (membership.ts, gone-check.ts) survivors recompute
 * ownership and subscribe, and the first message to one of its actors takes its lease over.
 */
import { randomUUID } from "node:crypto"
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core"
import { routeSubscription } from "../../subjects/cluster.ts"
import { POOL_ID } from "../../subjects/elastic.ts"
import { PARTITIONS, partitionQueue, partitionSubscription, type AgentSubjectParts } from "../../subjects/grammar.ts"
import { actorKey, type Inbound } from "../../subjects/inbound.ts"
import { partitionOf } from "../../subjects/partition-hash.ts"
import { startMailDelivery, type MailDelivery } from "./durable-mail.ts"
import { createForwarding } from "./forwarding.ts"
import { clusterGuarantees, storeReplicas, type Guarantees } from "./guarantees.ts"
import { Leases, isLeaseHeldError, type LostLease } from "./leases.ts"
import type { LeaseGuard, LocalActivation } from "./local-actors.ts"
import { Membership } from "./membership.ts"
import { answerUnserved, type UnservedCounts } from "./unserved.ts"
import type { ConnectionView } from "./gone-check.ts"
import { createOutOfTouch, watchConnection } from "./out-of-touch.ts"
import { createInspection, type ActorInfo, type NodeMembersInfo } from "./inspection.ts"
import { assignPartitions } from "./rendezvous.ts"
import { newerHolder } from "./type-versions.ts"
import { releasingPartitions } from "./releasing.ts"
import { clusterStores } from "./runtime-stores.ts"
import { CLUSTER_DEFAULTS, type Cluster, type ClusterDeps, type ClusterOptions, type ClusterView, type PartitionSubscription } from "./cluster-options.ts"

export { CLUSTER_DEFAULTS }
export type { ActorInfo, NodeMembersInfo, Cluster, ClusterDeps, ClusterOptions, ClusterView }

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export function createCluster(deps: ClusterDeps, options: ClusterOptions = {}): Cluster {
  const { id: me, nc, actors, log } = deps
  const incarnation = randomUUID().slice(0, 8)
  const handoverTimeoutMs = options.handoverTimeoutMs ?? CLUSTER_DEFAULTS.handoverTimeoutMs
  const shape = { version: nc.info?.version ?? "0.0.0", clustered: Boolean(nc.info?.cluster), replicas: deps.replicas }
  // refined at start, once the stores exist and their real replicas can be read from the server
  let guarantees: Guarantees = clusterGuarantees(shape)

  const subs = new Map<number, PartitionSubscription>()
  const releasing = releasingPartitions()
  const handing = new Set<LocalActivation>()
  const owners = new Map<string, Array<string | undefined>>()
  const other: Subscription[] = []
  let routing: "partitioned" | "direct" = "partitioned"
  let started = false
  let leaving = false
  let closed = false
  let viewChangedAt = Date.now()
  let refusedOutOfTouch = 0
  let handedOver = 0
  let mail: MailDelivery | undefined
  let progressTimer: ReturnType<typeof setTimeout> | undefined
  let reconcileQueued = false
  /** When each node was last taken for dead (durable deliveries to its actors then stop waiting). */
  const deaths = new Map<string, number>()
  const unserved: UnservedCounts = { hints: 0, checked: 0, downed: 0 }
  const allConnections = () => new Set([nc, deps.controlNc ?? nc, ...(deps.lanes?.connections() ?? [])])

  const membership = new Membership(deps.controlNc ?? nc, {
    nodeId: me,
    incarnation,
    types: () => [...actors.types()],
    versions: () => actors.versions(),
    replicas: deps.replicas,
    heartbeatMs: options.heartbeatMs,
    expiryMs: options.expiryMs,
    log: (l, m) => log(l, m),
    onChange: () => {
      owners.clear()
      queueReconcile()
    },
    onSelfExpired: (since) => recheck("its membership entry had expired", since),
    onDowned: (by) => void leases.dropAll(`node ${by} took node ${me} for dead (its connections were gone)`),
    heldTasks: deps.heldTasks,
    connections: () => allConnections(),
    onDead: (node, last) => {
      deaths.set(node, Date.now())
      const live = [...membership.members.keys()].filter((n) => n !== node).sort()
      try {
        deps.onNodeDead?.(node, last, live[0] === me)
      } catch (e) {
        log("warn", `handling the death of node ${node} failed: ${(e as Error).message}`)
      }
    },
    onResumed: (since) => recheck(`it could not heartbeat for more than ${membership.expiryMs} ms`, since),
  })
  const leases = new Leases(nc, {
    nodeId: me,
    incarnation,
    replicas: deps.replicas,
    leaseTtlMs: options.leaseTtlMs,
    isLive: (n) => membership.isLive(n), heardAgo: (n) => membership.heardAgo(n), takeoverAfterMs: membership.expiryMs,
    graceWait: (n, ms) => membership.heard.wait(n, ms),
    log: (l, m) => log(l, m),
  })

  // --- out of touch (out-of-touch.ts) ------------------------------------------------------
  const { recheck, outOfTouch, connection } = createOutOfTouch({ me, main: nc, leases, membership: () => membership, leaving: () => leaving, log })

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
    for (const type of actors.types()) ownersOf(type).forEach((o, p) => o === me && want.add(p))
    return want
  }

  const outOfTouchRefusal = () => `node ${me} lost touch with the swarm (no heartbeat for ${membership.silentFor()} ms) and is re-checking its actors; retry`

  // --- forwarding --------------------------------------------------------------------------
  const { send, onRouted, forwarded, relaying } = createForwarding({ nc, actors, leases, membership, log })

  const forward = (msg: Msg, p: Inbound, now?: number): false | "forwarded" | { readonly refused: string } => {
    if (!started) return false
    if (outOfTouch(now)) {
      // refused, not dropped: the node answers (or, for a tell, counts and records) it
      refusedOutOfTouch++
      return { refused: outOfTouchRefusal() }
    }
    if (actors.has(p.type, p.key)) return false
    // a pool address is routed by whichever node serving the type has it (no owner: pool-router.ts)
    if (p.id === POOL_ID && membership.candidates(p.type).includes(me)) return false
    const part = p.part
    const owner = ownerFor(p.type, part)
    if (owner === undefined || owner === me) return false
    // until the new owner serves the partition, it is still ours
    if (subs.has(part) && !serves(owner, part)) return false
    send(owner, part, p, msg)
    return "forwarded"
  }

  // --- the activation guard ----------------------------------------------------------------
  // one function for every lease (a closure per lease would be part of each idle actor's heap)
  const lostLease = (reason: string, a: Parameters<LeaseGuard["acquire"]>[0]) => {
    log("warn", `${a.type}/${a.id}: ${reason}; stopping this activation`)
    actors.stop(a, reason)
  }
  const guard: LeaseGuard = {
    async acquire(a) {
      const tookOver = await leases.acquire(a, lostLease as LostLease)
      // stopped while we were asking (the type gave up, the node is leaving): give it back
      if (a.status === "stopped") leases.release(a)
      return tookOver
    },
    refused(a, error) {
      const part = partitionOf(a.type, a.id)
      let to = isLeaseHeldError(error) ? error.holder : ""
      if (!to) {
        // state a newer version wrote (a rolling upgrade under way): the node that runs it serves the actor
        const newer = newerHolder(membership.members, me, a.type, part, error)
        if (newer === undefined) return false
        leases.release(a)
        log("info", `${a.type}/${a.id}: its state is version ${(error as { stateVersion: number }).stateVersion}, newer than the code here; its messages go to node ${newer}`)
        to = newer
      }
      for (const env of actors.takeQueued(a, CLUSTER_DEFAULTS.heldAskMaxMs)) {
        if (env.msg) send(to, part, { tenant: a.tenant, type: a.type, id: a.id, tag: env.tag }, env.msg)
      }
      return true
    },
    release(a) {
      leases.release(a)
    },
    outOfTouch: () => (started && outOfTouch() ? outOfTouchRefusal() : undefined),
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
      releasing.drop(p)
      if (!subs.has(p)) {
        subs.set(p, deps.subscribePartition ? deps.subscribePartition(p, (m) => actors.dispatch(m)) : nc.subscribe(partitionSubscription(p), { queue: partitionQueue(p), callback: (_e, m) => actors.dispatch(m) }))
        gained = true
      }
    }
    const now = Date.now()
    for (const p of subs.keys()) if (!want.has(p)) releasing.mark(p, now)
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
      for (const [p, since] of releasing.entries()) {
        const ready = releasing.ready(p, now, timedOut || now - since > handoverTimeoutMs, () => {
          const gaining = [...actors.types()].map((t) => ownerFor(t, p)).filter((o): o is string => o !== undefined && o !== me)
          return gaining.length === 0 ? "none" : gaining.every((o) => serves(o, p)) ? "served" : "waiting"
        })
        if (!ready) {
          pending = true
          continue
        }
        releasing.drop(p)
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
        actors.forgetSleeping((type, id) => subs.has(partitionOf(type, id)))
      }
      for (const a of actors.activations()) {
        if (handing.has(a) || a.status === "stopped") continue
        const part = partitionOf(a.type, a.id)
        const owner = ownerFor(a.type, part)
        if (owner === me) continue
        if (owner === undefined && !leaving) continue
        if (owner !== undefined && !timedOut && subs.has(part) && !serves(owner, part)) {
          pending = true
          continue
        }
        void handOver(a, owner)
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

  const handOver = async (a: LocalActivation, owner: string | undefined) => {
    handing.add(a)
    try {
      const deadline = Date.now() + deps.shutdownTimeoutMs
      const stopped = await actors.handOver(a, deadline, () => {
        // still ours after all? (the view changed back meanwhile)
        if (!leaving && ownerFor(a.type, partitionOf(a.type, a.id)) === me) return undefined
        return owner ? `handed over: its partition moved to node ${owner}` : `node ${me} left`
      })
      if (stopped) handedOver++
    } catch (e) {
      log((e as { _tag?: string })._tag === "CheckpointGaveUpError" ? "error" : "warn", `hand-over of ${a.type}/${a.id} failed: ${(e as Error).message}`)
    } finally {
      handing.delete(a)
    }
  }

  /** For a durable delivery beginning now: has the actor's owner (or holder) been taken for dead since? */
  const watchOwner = (parts: AgentSubjectParts) => {
    const began = Date.now()
    const here = actors.has(parts.type, actorKey(parts.tenant, parts.id))
    const owner = here ? me : ownerFor(parts.type, partitionOf(parts.type, parts.id))
    return () => owner !== undefined && owner !== me && (deaths.get(owner) ?? 0) >= began
  }

  // --- inspection ----------------------------------------------------------------------------
  const inspection = createInspection({
    node: me,
    incarnation,
    actors,
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
        leases: leases.held.size, takeovers: leases.takeovers, forwarded: forwarded(), handedOver,
        unserved: { ...unserved },
        mail: mail ? { delivered: mail.delivered, retried: mail.retried, deadLettered: mail.deadLettered, inflight: mail.inflight } : null,
        refusedOutOfTouch,
        messages: deps.messages?.() ?? null,
      }
    },
  })

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
    info: inspection.info,
    actors: inspection.actors,

    async start(r) {
      routing = r
      await leases.start()
      other.push(nc.subscribe(routeSubscription(me), { callback: (_e, m) => onRouted(m) }))
      other.push(...inspection.listen(nc), answerUnserved(deps.controlNc ?? nc, membership, me, log, unserved).sub)
      await nc.flush()
      await membership.start()
      started = true
      // a node that lost its connections may have been taken for dead meanwhile: its leases are re-checked
      const changed = (c: ConnectionView, up: boolean) => connection(c, up, allConnections())
      for (const c of new Set([nc, deps.controlNc ?? nc])) watchConnection(c, changed, () => closed)
      deps.lanes?.onStatus(changed)
      await reconcile()
      if (options.mail !== false) {
        mail = await startMailDelivery(nc, { ...(options.mail ?? {}), replicas: deps.replicas, watchOwner: watchOwner, log: (l, m) => log(l, m) })
      }
      const declared = [...clusterStores(deps.replicas, options.mail !== false), ...(deps.stores ?? [])]
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
      const remaining = () => subs.size + handing.size + actors.size()
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
      while (relaying() > 0 && Date.now() < deadline) await sleep(10)
      await leases.settled(deps.shutdownTimeoutMs)
      leases.stop()
    },
  }
}
