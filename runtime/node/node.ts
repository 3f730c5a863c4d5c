/**
 * A runtime node: hosts agent types, receives their messages from NATS and runs their actors.
 *
 * Routing: the server maps ants.<tenant>.agent.<type>.<id>.<Tag> to
 * ants._part.<p>.…; the node subscribes to the partitions it owns with one queue group per
 * partition. At start the node checks that the mapping is in force (a probe message); on a
 * server without it all agent traffic arrives on the agent wildcards below, and the node says
 * so (one node only then: placement needs the mapping). The node always subscribes to the
 * agent wildcards (ants.*.agent, ants.*.agent.>, one queue group for the swarm): with the
 * mapping they carry only what the mapping does not take (the wrong number of tokens), which is
 * answered `invalid_subject` rather than left to "no responders".
 *
 * Promises: a message is validated before it reaches a mailbox (bad subject, unknown type or
 * tag, body not JSON, schema failure: an error envelope when there is a reply subject, a count
 * and a record on ants._sys.node.<id>.rejected otherwise; the runtime's own mapping probes
 * are the one thing ignored); mailboxes are bounded; nothing a message does can crash the
 * node; `drain()` finishes in-flight work, checkpoints and closes, and gives up waiting once
 * the connection has been gone for `drainDisconnectedMs`.
 */
import { randomUUID } from "node:crypto"
import type { Subscription } from "@nats-io/nats-core"
import { connectNats } from "../client/connect-nats.ts"
import { NODE_DEFAULTS, checkInteger, defaultLogger, type AntsNode, type NodeOptions, type NodeStats } from "./options.ts"
import { detectMapping } from "./routing.ts"
import { createEndpoints } from "./endpoints.ts"
import { createDrain } from "./drain.ts"
import { createRejections } from "./rejections.ts"
import { resetSupervision, typeStats } from "./inspection.ts"
import { encodeOk } from "../../subjects/envelope.ts"
import { AGENT_WILDCARDS, AGENT_WILDCARD_QUEUE, nodeSubject, nodesBroadcastSubject, topicPatternAllTenants, agentSubject, parseTopicSubject } from "../../subjects/grammar.ts"
import { createMessaging } from "../client/messaging.ts"
import { openStateStore, type StateStore } from "../actor/state-store.ts"
import { createNodeSupervision } from "./node-supervision.ts"
import { supervisionResetSubject, supervisionTreeSubject } from "../../subjects/supervision.ts"
import type { Supervisor } from "../actor/supervision.ts"
import { TypeHost, type HostNode } from "../actor/type-host.ts"
import { localActors } from "../actor/local-actors.ts"
import { actorKey } from "../../subjects/inbound.ts"
import { createCluster } from "../cluster/cluster.ts"
import { clusterSizeOf, defaultReplicas } from "../cluster/guarantees.ts"
import { runtimeStores } from "../cluster/runtime-stores.ts"
import { startLifecycleLoop } from "./lifecycle-loop.ts"
import { serveWakesByType, startCostMeter } from "../elastic/mod.ts"
import { createStigmergy } from "../actor/artifact-delivery.ts"
import { startNodeTasks } from "../tasks/node-tasks.ts"
import { memoryOnDemand, type RememberInput } from "../memory/mod.ts"
import { startTenancy } from "./tenancy.ts"
import { openTenantTasks } from "./task-scope.ts"
import { connectInbound, connectNode } from "./connect-node.ts"
import { openAgentServices } from "./agent-services.ts"
import { startGovernance } from "../governance/mod.ts"

export { connectNats, NODE_DEFAULTS, defaultLogger }
export type { AntsNode, LogLevel, Logger, NodeModelsOptions, NodeOptions, NodeStats, RejectedRecord } from "./options.ts"
import { heldAckSubjects, onDeliveryHeld, releaseDeliveries } from "../tasks/lane-puller.ts"
import { parseJsonSafe } from "../limits/safe-json.ts"
import { createGuards } from "./guards.ts"
import { createDispatch } from "./dispatch.ts"
import { prepareElasticNode } from "../elastic/mod.ts"
import { observeNode, startNodeTracing } from "./observe.ts"
import type { PheromoneWrite } from "../stigmergy/pheromones-api.ts"
import { sweeperElector } from "../stigmergy/sweeper-election.ts"

const decoder = new TextDecoder()

export async function startNode(options: NodeOptions): Promise<AntsNode> {
  checkInteger("mailbox", options.mailbox, 1, `it bounds each actor's mailbox (default ${NODE_DEFAULTS.mailbox}); leave it out for the default`)
  checkInteger("replicas", options.replicas, 1, "use 1 for a single server, 3 for a production cluster")
  const id = options.nodeId ?? `node-${randomUUID().slice(0, 8)}`
  const log = options.logger ?? defaultLogger
  const hosts = new Map<string, TypeHost>()
  for (const def of options.agents) {
    if (hosts.has(def.type)) throw new Error(`agent type "${def.type}" is listed twice`)
  }

  const tracing = await startNodeTracing(options)
  const connection = await connectNode(options, id, log).catch((e: unknown) => tracing?.stop().then(() => Promise.reject(e)) ?? Promise.reject(e))
  const { nc, url, target, credentials, embedded, ownConnection } = connection
  // membership heartbeats on a connection of their own, flooded partitions on lanes of their own
  const { controlNc, lanes, admit } = await connectInbound(connection, id, log, options.lanes)
  // replicas: as configured, else as many as the cluster has servers (at most 3), 1 on a single server
  const replicas = options.replicas ?? defaultReplicas({ clustered: Boolean(nc.info?.cluster), clusterSize: clusterSizeOf(nc.info) })
  const store: StateStore = await openStateStore(nc, { nodeId: id, replicas, versionOf: (type) => hosts.get(type)?.definition.version ?? 1 })
  const messaging = createMessaging(nc)
  const nodeSupervision = options.supervisor
    ? undefined
    : createNodeSupervision({
      nodeId: id,
      nc,
      agents: options.agents,
      overrides: options.supervision,
      log,
      onTypeDown: (type, reason, shutdownMs) => hosts.get(type)?.giveUp(reason, shutdownMs),
      onTypeUp: (type, delayMs) => hosts.get(type)?.revive(delayMs),
      onTypeReset: (type, reason) => {
        const n = hosts.get(type)?.resetStuck(reason) ?? 0
        if (n > 0) log("warn", `reset freed ${n} actor(s) of ${type} stuck in a handler`)
      },
      restartActor: (a, delayMs, shutdownMs) => {
        const h = hosts.get(a.type)
        const c = h?.cells.get(actorKey(a.tenant, a.id))
        if (h && c) h.restartActor(c, delayMs, shutdownMs)
      },
      stopActor: (a, reason, shutdownMs) => {
        const h = hosts.get(a.type)
        const c = h?.cells.get(actorKey(a.tenant, a.id))
        if (h && c) void h.shutdown(c, reason, shutdownMs)
      },
    })
  const supervisor: Supervisor = options.supervisor ?? nodeSupervision!

  // --- accounting and limits ---------------------------------------------------------------
  // every message: received = handled + forwarded + rejected (by code) + in flight, per type and tenant
  const { ledger, limits, jsonLimits, tenantRates, agentRates, monitor, budget } = createGuards(options.limits, nc, hosts, log)
  monitor.start()
  const { reject, rejectEvent, refusedElsewhere, snapshot: rejections } = createRejections(nc, id, log, ledger)
  // Prometheus figures read from the counters above at scrape time; ask latency observed by the hosts
  const observed = observeNode({ id, nc, hosts, ledger, budget, log, rejectedEvents: () => rejections().rejectedEvents, cluster: () => ({ members: cluster.members().length, partitions: cluster.partitions().length }), tasks: () => tasks !== undefined }, options, tracing)

  const cluster = createCluster(
    {
      id,
      nc,
      // the cluster's port to the engine; dispatch is bound below, before any message arrives
      actors: localActors(hosts, (m, r) => dispatch(m, r)),
      replicas,
      stores: runtimeStores({
        replicas,
        schedules: options.agents.some((a) => (a.schedules?.length ?? 0) > 0),
        tasks: options.tasks?.disabled ? undefined : replicas,
        pheromones: replicas,
      }),
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? NODE_DEFAULTS.shutdownTimeoutMs,
      log,
      controlNc,
      ...(lanes ? { subscribePartition: lanes.subscribe, lanes } : {}),
      heldTasks: () => heldAckSubjects(nc),
      messages: () => ledger.totals(),
      onNodeDead: (node, last, releaser) => {
        if (!releaser || !last.tasks?.length) return
        const n = releaseDeliveries(nc, last.tasks)
        log("warn", `node ${node} was taken for dead holding ${last.tasks.length} task(s); ${n} handed back for redelivery now`)
      },
    },
    options.cluster,
  )

  let settleWaiters: Array<() => void> = []
  const memory = memoryOnDemand(options.memory ?? {})
  // a decision on an approval is offered to the requesting agent's memory as feedback (when memory is on)
  const feedback = options.memory === false ? undefined : (owner: { tenant: string; type: string; id: string }, entry: RememberInput) => memory.forActor(owner).remember(entry)
  const governance = options.governance === false ? undefined : await startGovernance(nc, { ...options.governance, nodeId: id, replicas, log, ...(feedback ? { feedback } : {}) })
  // every pheromone write is counted for /metrics, and receipted when governance audits
  const onPheromoneWrite = (tenant: string, w: PheromoneWrite): void => {
    observed.pheromoneWritten(tenant, w)
    governance?.onPheromoneWrite(tenant, w)
  }
  // one node of the swarm sweeps each tenant's expired trails (an election per tenant in KV)
  const sweeperElection = sweeperElector(nc, { nodeId: id, replicas, log })
  const stigmergy = createStigmergy(nc, { replicas, onPheromoneWrite, sweeperElection })
  // each tenant's scope (its own connection with an auth folder), standing (suspension, quotas) and kill switch
  const tenancy = await startTenancy({
    ...{ id, nc, messaging, hosts, servers: target, credentials },
    stigmergy: () => stigmergy,
    ...(options.authDir ? { authDir: options.authDir } : {}),
    ...(options.tenants ? { tenants: options.tenants } : {}),
    ...(options.quotas ? { quotas: options.quotas } : {}),
    replicas,
    log,
    onPheromoneWrite,
    sweeperElection,
  })
  const { models, sandbox, close: closeAgentServices } = await openAgentServices(nc, options, { id, replicas, log, admit: (t) => tenancy.admit(t, false), gate: governance?.gate, modelGate: governance?.modelGate })
  if (models) {
    log(models.offline ? "warn" : "info", models.announcement)
    for (const w of models.config.warnings) log("warn", `models: ${w}`)
  }
  // lasting lifecycle costs per tenant and type, metered from the transitions (runtime/elastic/cost-meter.ts)
  const costs = await startCostMeter(nc, { nodeId: id, replicas, log })
  const hostNode: HostNode = {
    transitioned: costs.transitioned,
    scopes: tenancy.scopes,
    id,
    nc,
    messaging,
    store,
    supervisor,
    log,
    stigmergy: () => stigmergy,
    memory,
    models,
    sandbox,
    guard: cluster.guard,
    rejectedEvent: rejectEvent,
    ledger,
    monitor,
    budget,
    limits,
    askLatency: observed.metrics.askLatency,
    settled() {
      if (settleWaiters.length === 0) return
      const w = settleWaiters
      settleWaiters = []
      for (const f of w) f()
    },
  }
  const mailbox = options.mailbox ?? NODE_DEFAULTS.mailbox
  const passivateAfterMs = options.passivateAfterMs ?? NODE_DEFAULTS.passivateAfterMs
  const idleAfterMs = options.idleAfterMs ?? Math.min(NODE_DEFAULTS.idleAfterMs, passivateAfterMs)
  const elastic = prepareElasticNode(nc, { nodeId: id, replicas, log }, options.elastic)
  for (const def of options.agents) {
    hosts.set(def.type, new TypeHost(elastic.wrap(def), hostNode, def.mailbox ?? mailbox, passivateAfterMs))
  }
  // singleton actors run by supervisor workers stay activated
  for (const w of nodeSupervision?.view.workers() ?? []) hosts.get(w.actor.type)?.pinned.add(actorKey(w.actor.tenant, w.actor.id))

  // --- the hot path -----------------------------------------------------------------------
  let accepting = true
  const { dispatch, received, laneAdmission } = createDispatch({
    id,
    hosts,
    cluster,
    guards: { ledger, limits, jsonLimits, tenantRates, agentRates, budget },
    reject,
    refusedElsewhere,
    log,
    accepting: () => accepting,
    admit: (tenant, activates, now) => tenancy.admit(tenant, activates, now),
    pool: (m, p) => elastic.route(m, p),
  })
  admit(laneAdmission)

  // --- routing -----------------------------------------------------------------------------
  const subs: Subscription[] = []
  const routing = await detectMapping(nc)
  // the cluster subscribes to the partitions this node owns (and follows membership changes)
  await cluster.start(routing)
  // a task taken now is advertised within moments: a crash before the next heartbeat loses no time on it
  const stopHeldWatch = onDeliveryHeld(nc, () => cluster.heldTasksChanged())
  if (routing === "direct") {
    log("warn", `the NATS server at ${url} has no ANTS partition mapping (nats.conf); routing all agent subjects to this node directly. Start nats-server with -c nats.conf to run several nodes.`)
  }
  // Always: without the mapping these carry every agent message; with it, only the subjects the
  // mapping does not take (the wrong number of tokens), which then get `invalid_subject`
  // instead of "no responders" (asks) or silence (tells).
  for (const wildcard of AGENT_WILDCARDS) {
    subs.push(nc.subscribe(wildcard, { queue: AGENT_WILDCARD_QUEUE, callback: (_e, m) => dispatch(m) }))
  }

  // Declared topic subscriptions: an event becomes a tell to the addressed actor, routed like
  // any other message so it reaches the owning node (and wakes a sleeping actor).
  for (const host of hosts.values()) {
    for (const binding of host.definition.topics ?? []) {
      const pattern = topicPatternAllTenants(binding.pattern)
      subs.push(
        nc.subscribe(pattern, {
          queue: `ants-topic-${host.definition.type}`,
          callback: (_e, m) => {
            let stage = "subject"
            try {
              const { tenant, name } = parseTopicSubject(m.subject)
              stage = "body"
              const event = m.data.length === 0 ? {} : parseJsonSafe(decoder.decode(m.data), jsonLimits)
              stage = "target"
              const target = typeof binding.to === "function" ? binding.to(event, name) : binding.to
              // the event's headers (its trace context) go with it
              nc.publish(agentSubject({ tenant, type: host.definition.type, id: target, tag: binding.tag }), m.data, m.headers ? { headers: m.headers } : undefined)
            } catch (e) {
              const err = e as Error & { _tag?: string }
              const why = stage === "body" ? `event is not JSON: ${err.message}` : err.message
              const code = stage !== "body" && err._tag === "SubjectError" ? "invalid_subject" : "invalid_message"
              rejectEvent(m.subject, code, `not delivered to ${host.definition.type}: ${why}`)
            }
          },
        }),
      )
    }
  }

  // --- inspection --------------------------------------------------------------------------
  const stats = (): NodeStats => ({
    node: id,
    url,
    routing,
    partitions: cluster.partitions(),
    received: received(),
    ...rejections(),
    types: typeStats(hosts),
    ...tenancy.stats(),
    messages: ledger.snapshot(),
    queuedBytes: { bytes: budget.bytes, max: budget.max },
    loopBlocks: { count: monitor.blocked, worstMs: Math.round(monitor.worstMs) },
    ...(lanes ? { lanes: lanes.stats() } : {}),
  })
  const endpoints = createEndpoints(nc)
  subs.push(endpoints.serve("stats", nodeSubject(id, "stats"), () => encodeOk(stats())))
  subs.push(endpoints.serve("stats", nodesBroadcastSubject("stats"), () => encodeOk(stats())))
  if (nodeSupervision) {
    const view = nodeSupervision.view
    subs.push(endpoints.serve("supervision-tree", supervisionTreeSubject(id), () => encodeOk(view.inspect())))
    subs.push(endpoints.serve("supervision-reset", supervisionResetSubject(id), (m) => encodeOk(resetSupervision(view, m.data))))
  }

  // --- shutdown ------------------------------------------------------------------------------
  const { drain, closed } = createDrain({
    nc,
    log,
    hosts,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? NODE_DEFAULTS.shutdownTimeoutMs,
    disconnectedMs: NODE_DEFAULTS.drainDisconnectedMs,
    ownConnection,
    handOver: () => cluster.leave(),
    stopAccepting: () => {
      accepting = false
      lifecycle.stop()
    },
    stopTasks: async (graceMs) => await tasks?.stop({ graceMs }),
    // the models' and the tool registry's watches close with the stigmergy watches, and the tenants' with them
    closeStigmergy: async () => {
      closeAgentServices()
      await stigmergy.close()
      await costs.stop()
      await tenancy.close()
      await governance?.close()
    },
    unsubscribe: () => {
      for (const s of subs) s.unsubscribe()
    },
    settled: (ms) =>
      new Promise<void>((r) => {
        settleWaiters.push(r)
        setTimeout(r, ms)
      }),
    leaveSwarm: async () => {
      stopHeldWatch()
      await cluster.close()
      await lanes?.close()
      if (controlNc !== nc) await controlNc.close().catch(() => undefined)
    },
    closeMemory: () => sandbox.close().then(() => memory.close()), // the isolates go with the store: both outlive every handler
    stopEmbedded: async () => void (await Promise.all([embedded?.stop(), observed.close()])),
  })

  // --- time- and start-driven wakes and sleeps (tiers, warm pools, keep-alives, schedules) ---
  const lifecycle = await startLifecycleLoop({
    id, nc, agents: options.agents, hosts, replicas, log, idleAfterMs, passivateAfterMs,
    ...(options.clock ? { clock: options.clock } : {}),
    ownerOf: (type, actorId) => cluster.ownerOf(type, actorId),
    ownedPartitions: () => (routing === "partitioned" ? cluster.partitions() : undefined),
    workers: () => nodeSupervision?.view.workers() ?? [],
    workerUp: (a) => nodeSupervision?.workerUp(a),
    accepting: () => accepting,
  })
  subs.push(...serveWakesByType({ nc, hosts, log }))

  await stigmergy.startInterests(options.agents, log)
  await elastic.start({ hosts, dispatch: (m, r) => dispatch(m, r), pheromones: (t) => stigmergy.pheromones(t, `node/${id}`), ownerOf: cluster.ownerOf, partitions: () => (routing === "partitioned" ? cluster.partitions() : undefined), accepting: () => accepting, record: governance?.record })
  const tasks = await startNodeTasks(nc, options.agents, { nodeId: id, replicas, tenant: (t) => openTenantTasks(tenancy.scopes, t), log, ...(governance ? { note: governance.audit.note } : {}) }, tenancy.taskOptions(options.tasks))

  // a PostgreSQL URL is opened now: a wrong one fails the start, not some actor's first call
  if (options.memory !== false && (options.memory?.postgres || (options.memory?.env ?? process.env).DATABASE_URL)) await memory.open().catch((e: unknown) => drain().then(() => Promise.reject(e)))
  await observed.listen(() => ({ ok: accepting && !nc.isClosed(), node: id, routing, members: cluster.members().length })).catch((e: unknown) => drain().then(() => Promise.reject(e)))
  log("info", `node ${id} up: ${hosts.size} agent type(s) [${[...hosts.keys()].join(", ")}], routing ${routing}, ${url}`)
  return {
    id,
    url,
    nc,
    client: messaging,
    routing,
    embedded,
    stats,
    drain,
    stop: drain,
    closed,
    cluster,
    supervision: nodeSupervision?.view,
    tasks: tasks?.engine,
    memory,
    http: observed.http,
    governance,
  }
}
