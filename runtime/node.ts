/**
 * A runtime node: hosts agent types, receives their messages from NATS and runs their actors.
 *
 * Routing (DESIGN.md §3): the server maps ants.<tenant>.agent.<type>.<id>.<Tag> to
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
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"
import { encodeError, encodeOk, type ErrorCode } from "../subjects/envelope.ts"
import {
  AGENT_WILDCARDS,
  AGENT_WILDCARD_QUEUE,
  DEFAULT_TENANT,
  isMappingProbe,
  senderSubject,
  mappingProbeSubject,
  nodeSubject,
  nodesBroadcastSubject,
  topicPatternAllTenants,
  mappedProbePattern,
  agentSubject,
  parseTopicSubject,
  SubjectError,
  type AgentSubjectParts,
} from "../subjects/grammar.ts"
import type { Messaging } from "./actor-context.ts"
import { createMessaging } from "./client.ts"
import type { AgentDefinition } from "./define-agent.ts"
import { startNatsServer, type NatsServer } from "./nats-server.ts"
import { connectionOptions, redactUrl, type Credentials } from "./security/connection-options.ts"
import { createTenantScopes } from "./security/tenant-scopes.ts"
import { TenantPolicy, type TenantPolicyOptions } from "./security/tenant-policy.ts"
import { tenantsBucket, watchTenants } from "./security/tenant-control.ts"
import type { QuotaKind, Suspension } from "../subjects/tenancy.ts"
import { parseIssues } from "./protocol.ts"
import { openStateStore, type StateStore } from "./state-store.ts"
import { createNodeSupervision, type SupervisionView } from "./node-supervision.ts"
import { decodeResetRequest, supervisionResetSubject, supervisionTreeSubject } from "../subjects/supervision.ts"
import { partitionOf } from "./cluster/partition-hash.ts"
import type { NodeTreeOverrides } from "../supervisors/mod.ts"
import type { Supervisor } from "./supervision.ts"
import { TypeHost, type HostNode, type TypeStats } from "./type-host.ts"
import { parseInboundOnce, type Inbound } from "./inbound.ts"
import { createCluster, type ClusterOptions, type ClusterView } from "./cluster/cluster.ts"
import { clusterSizeOf, defaultReplicas } from "./cluster/guarantees.ts"
import { runtimeStores } from "./cluster/runtime-stores.ts"
import { idsToKeepAwake, idsToWakeAtStart } from "./lifecycle-policy.ts"
import { startSchedules } from "./schedules.ts"
import { createStigmergy } from "./stigmergy.ts"
import { startNodeTasks, type NodeTaskOptions } from "./tasks/node-tasks.ts"
import { taskBacklog } from "./tasks/streams.ts"
import type { TaskEngine } from "./tasks/engine.ts"

export const NODE_DEFAULTS = {
  /** Mailbox bound per actor. */
  mailbox: 1000,
  /** Idle time before an on_demand actor passivates. */
  passivateAfterMs: 300_000,
  /** Empty-mailbox time before an active actor is reported `idle`. */
  idleAfterMs: 1_000,
  /** How long drain waits for in-flight work (and each step of leaving) before closing anyway. */
  shutdownTimeoutMs: 10_000,
  /** How long a drain step waits once the NATS connection is gone (nothing can be sent meanwhile). */
  drainDisconnectedMs: 2_000,
  /** Largest accepted message body. */
  maxBodyBytes: 1_048_576,
} as const

/** How long a suspended tenant's handler in flight may finish (then its state is checkpointed) before it is stopped. */
const SUSPEND_GRACE_MS = 2_000

export type LogLevel = "info" | "warn" | "error"
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void

export interface NodeOptions {
  readonly agents: ReadonlyArray<AgentDefinition<any, any>>
  /**
   * NATS server URL(s), comma-separated, or a connection to use. Default: `NATS_URL`, else an
   * embedded `nats-server` child started on a free port with a temporary store.
   */
  readonly nats?: string | NatsConnection
  /**
   * How the node authenticates (user/password, token, creds or nkey file, TLS files); credentials
   * in the `nats` URL and the `nats` CLI's environment variables work too. Ignored with a connection.
   */
  readonly credentials?: Credentials
  /**
   * Folder written by `ants auth init`: with it, each tenant's actors act through a connection
   * authenticated as that tenant (tenants/<t>.nk), so the server enforces tenant isolation
   * inside the node too. Without it (a development server) actors share the node's connection.
   */
  readonly authDir?: string
  /** Tenants this node serves (default: all); actors of others are answered `forbidden`. */
  readonly tenants?: ReadonlyArray<string>
  /** Quotas of every tenant (`defaults`) and of named tenants; `ants tenant quota` overrides them at run time. */
  readonly quotas?: TenantPolicyOptions
  readonly nodeId?: string
  readonly mailbox?: number
  readonly passivateAfterMs?: number
  readonly idleAfterMs?: number
  readonly shutdownTimeoutMs?: number
  /** Replaces the node's supervision tree (advanced; it must publish its decisions). */
  readonly supervisor?: Supervisor
  /** Overrides of the node's default supervision tree (root flags, policies, extra children). */
  readonly supervision?: NodeTreeOverrides
  /**
   * JetStream replicas for the runtime's buckets and streams. Default: as many as the cluster has
   * servers, at most 3 (read from the server's INFO at connect); 1 on a single server.
   */
  readonly replicas?: number
  readonly logger?: Logger
  /** Membership, leases, hand-over and durable mail timings (runtime/cluster/cluster.ts). */
  readonly cluster?: ClusterOptions
  /** The node's task engine: worker defaults, scheduler, marketplace timings, or `disabled` (runtime/tasks/node-tasks.ts). */
  readonly tasks?: NodeTaskOptions
}

export interface RejectedRecord {
  readonly subject: string
  readonly code: ErrorCode
  readonly message: string
  readonly at: string
}

export interface NodeStats {
  readonly node: string
  readonly url: string
  readonly routing: "partitioned" | "direct"
  readonly partitions: number[]
  readonly received: number
  /** Refused messages by error code (tells, asks and topic events alike). */
  readonly rejected: Record<string, number>
  /** Topic events refused before reaching an actor (not JSON, no target, mailbox full); also counted in `rejected`. */
  readonly rejectedEvents: number
  readonly recentRejections: ReadonlyArray<RejectedRecord>
  readonly types: Record<string, TypeStats & { active: number; idle: number; warming: number; sleeping: number; unavailable?: string }>
  /** Actors active on this node, by tenant. */
  readonly tenants: Record<string, number>
  /** Tenants whose own connection this node has open (with an auth folder; empty without). */
  readonly tenantConnections: ReadonlyArray<string>
  /** Suspended tenants and why (the tenant bucket, as this node last saw it). */
  readonly suspended: Record<string, Suspension>
  /** Refusals by tenant and quota kind. */
  readonly quotaRefusals: Record<string, Partial<Record<QuotaKind, number>>>
}

export interface AntsNode {
  readonly id: string
  /** The NATS URL the node is connected to (the embedded server's when it started one). */
  readonly url: string
  readonly nc: NatsConnection
  /** Typed ask/tell for code running beside the node. */
  readonly client: Messaging
  readonly routing: "partitioned" | "direct"
  /** The embedded server, when the node started one. */
  readonly embedded: NatsServer | undefined
  stats(): NodeStats
  /** Graceful stop: no new messages, in-flight work finished, state checkpointed, connection drained. */
  drain(): Promise<void>
  /** Alias of drain. */
  stop(): Promise<void>
  /** Resolves when the node has stopped. */
  readonly closed: Promise<void>
  /** Membership view, owned partitions, placement and inspection. */
  readonly cluster: ClusterView
  /**
   * The node's supervision tree, read-only (`inspect`, `typeStatus`, `pathOf`, `workers`), and
   * an operator's `reset`; also served on ants._sys.node.<id>.supervision.tree|reset.
   * Undefined when the node was given its own `supervisor`.
   */
  readonly supervision: SupervisionView | undefined
  /** Durable tasks (submit, status, dead letters) through this node's engine; undefined when disabled. */
  readonly tasks: TaskEngine | undefined
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

export function defaultLogger(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  if (level === "info" && !process.env.ANTS_DEBUG) return
  process.stderr.write(`[ants ${level}] ${message}${fields ? " " + JSON.stringify(fields) : ""}\n`)
}

/**
 * Connects to NATS the way the runtime always does (endless reconnect), authenticating with the
 * credentials given, in the URL or in the environment (runtime/security/connection-options.ts).
 */
export async function connectNats(servers: string, name: string, credentials: Credentials = {}, extra: { inboxPrefix?: string } = {}): Promise<NatsConnection> {
  return await connect({
    ...connectionOptions(servers, credentials).options,
    ...extra,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
  })
}

/** Throws a clear error for a node option that is not an integer >= min. */
function checkInteger(name: string, value: number | undefined, min: number, hint: string): void {
  if (value === undefined) return
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`startNode: ${name} must be an integer >= ${min}, got ${String(value)}; ${hint}`)
  }
}

export async function startNode(options: NodeOptions): Promise<AntsNode> {
  checkInteger("mailbox", options.mailbox, 1, `it bounds each actor's mailbox (default ${NODE_DEFAULTS.mailbox}); leave it out for the default`)
  checkInteger("replicas", options.replicas, 1, "use 1 for a single server, 3 for a production cluster")
  const id = options.nodeId ?? `node-${randomUUID().slice(0, 8)}`
  const log = options.logger ?? defaultLogger
  const hosts = new Map<string, TypeHost>()
  for (const def of options.agents) {
    if (hosts.has(def.type)) throw new Error(`agent type "${def.type}" is listed twice`)
  }

  let embedded: NatsServer | undefined
  let nc: NatsConnection
  let url: string
  let ownConnection = true
  if (typeof options.nats === "object") {
    nc = options.nats
    ownConnection = false
    url = nc.getServer()
  } else {
    const servers = options.nats || process.env.NATS_URL
    let target: string
    let credentials = options.credentials ?? {}
    if (servers) {
      target = servers
    } else {
      // the embedded server authenticates too, with credentials made for this run
      embedded = await startNatsServer({ authenticate: true })
      target = embedded.url
      credentials = embedded.credentials ?? {}
      log("info", `started embedded nats-server ${embedded.version} at ${target}`)
    }
    url = redactUrl(target)
    try {
      nc = await connectNats(target, `ants-${id}`, credentials)
    } catch (e) {
      await embedded?.stop()
      throw new Error(`cannot connect to NATS at ${url}: ${(e as Error).message}. Is nats-server running there? (start one with \`nats-server -c nats.conf\` or omit --nats to use an embedded one)`, { cause: e })
    }
  }

  // replicas: as configured, else as many as the cluster has servers (at most 3), 1 on a single server
  const replicas = options.replicas ?? defaultReplicas({ clustered: Boolean(nc.info?.cluster), clusterSize: clusterSizeOf(nc.info) })
  const store: StateStore = await openStateStore(nc, { nodeId: id, replicas })
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
      restartActor: (a, delayMs, shutdownMs) => {
        const h = hosts.get(a.type)
        const c = h?.cells.get(`${a.tenant}\u0000${a.id}`)
        if (h && c) h.restartActor(c, delayMs, shutdownMs)
      },
      stopActor: (a, reason, shutdownMs) => {
        const h = hosts.get(a.type)
        const c = h?.cells.get(`${a.tenant}\u0000${a.id}`)
        if (h && c) void h.shutdown(c, reason, shutdownMs)
      },
    })
  const supervisor: Supervisor = options.supervisor ?? nodeSupervision!

  // --- rejection accounting -------------------------------------------------------------
  let received = 0
  let rejectedEvents = 0
  const rejected: Record<string, number> = {}
  const recent: RejectedRecord[] = []
  const rejectedSubject = nodeSubject(id, "rejected")
  const record = (subject: string, code: ErrorCode, message: string, details: unknown, what: string) => {
    const r: RejectedRecord = { subject, code, message, at: new Date().toISOString() }
    recent.push(r)
    if (recent.length > 100) recent.shift()
    log("warn", `rejected ${what} on ${subject}: ${code}: ${message}`)
    try {
      nc.publish(rejectedSubject, encoder.encode(JSON.stringify({ ...r, details })))
    } catch {
      // closing
    }
  }
  const reject = (msg: Msg, code: ErrorCode, message: string, details?: unknown, parsed?: AgentSubjectParts) => {
    rejected[code] = (rejected[code] ?? 0) + 1
    if (msg.reply) {
      msg.respond(encodeError(code, message, details))
      return
    }
    // record the subject the sender used, not the partitioned one
    record(parsed ? agentSubject(parsed) : senderSubject(msg.subject), code, message, details, "tell")
  }
  /** A topic event that could not become a message for an actor: counted and recorded like a bad tell. */
  const rejectEvent = (subject: string, code: ErrorCode, message: string) => {
    rejected[code] = (rejected[code] ?? 0) + 1
    rejectedEvents++
    record(subject, code, message, undefined, "topic event")
  }

  const cluster = createCluster(
    {
      id,
      nc,
      hosts,
      replicas,
      stores: runtimeStores({
        replicas,
        schedules: options.agents.some((a) => (a.schedules?.length ?? 0) > 0),
        tasks: options.tasks?.disabled ? undefined : replicas,
        pheromones: replicas,
      }),
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? NODE_DEFAULTS.shutdownTimeoutMs,
      log,
      dispatch: (m, r) => dispatch(m, r),
    },
    options.cluster,
  )

  let settleWaiters: Array<() => void> = []
  const stigmergy = createStigmergy(nc, { replicas })
  // what actors of each tenant act through, and each tenant's standing (suspension, quotas)
  const scopes = createTenantScopes({
    nc,
    messaging,
    stigmergy: () => stigmergy,
    ...(options.authDir ? { authDir: options.authDir } : {}),
    ...(options.tenants ? { tenants: options.tenants } : {}),
    servers: typeof options.nats === "object" ? nc.getServer() : (options.nats || process.env.NATS_URL || url),
    tls: { tlsCa: options.credentials?.tlsCa, tlsCert: options.credentials?.tlsCert, tlsKey: options.credentials?.tlsKey },
    replicas,
    nodeId: id,
    log,
  })
  const policy = new TenantPolicy(options.quotas)
  const hostNode: HostNode = {
    scopes,
    id,
    nc,
    messaging,
    store,
    supervisor,
    log,
    stigmergy: () => stigmergy,
    guard: cluster.guard,
    rejectedEvent: rejectEvent,
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
  for (const def of options.agents) {
    hosts.set(def.type, new TypeHost(def, hostNode, def.mailbox ?? mailbox, passivateAfterMs))
  }
  // singleton actors run by supervisor workers stay activated
  for (const w of nodeSupervision?.view.workers() ?? []) hosts.get(w.actor.type)?.pinned.add(`${w.actor.tenant}\u0000${w.actor.id}`)

  const activeByTenant = () => {
    const out: Record<string, number> = {}
    for (const h of hosts.values()) for (const c of h.cells.values()) out[c.tenant] = (out[c.tenant] ?? 0) + 1
    return out
  }
  /** The tenant's actors on this node and the bytes of state they hold (checked only when a new one would activate). */
  const holdingsOf = (tenant: string) => {
    let actors = 0
    let bytes = 0
    for (const h of hosts.values()) {
      for (const c of h.cells.values()) {
        if (c.tenant !== tenant) continue
        actors++
        bytes += c.saved?.length ?? 0
      }
    }
    return { actors, bytes }
  }
  // The kill switch: a suspended tenant's actors stop here (state checkpointed), whatever they
  // were doing; its messages are refused above and its tasks wait (the task engine's `paused`).
  // What a suspension stopped here is woken again on resume (each from its checkpoint).
  const stoppedBySuspension = new Map<string, Array<{ type: string; id: string }>>()
  const suspendLocally = (tenant: string, reason: string) => {
    const stopped = stoppedBySuspension.get(tenant) ?? []
    for (const h of hosts.values()) {
      for (const c of [...h.cells.values()]) {
        if (c.tenant !== tenant) continue
        stopped.push({ type: h.definition.type, id: c.id })
        void h.shutdown(c, `tenant "${tenant}" suspended: ${reason}`, SUSPEND_GRACE_MS).catch(() => undefined)
      }
    }
    stoppedBySuspension.set(tenant, stopped)
    log("warn", `tenant "${tenant}" suspended (${reason}): stopping its ${stopped.length} actor(s) on node ${id}`)
  }
  const resumeLocally = (tenant: string) => {
    const stopped = stoppedBySuspension.get(tenant) ?? []
    stoppedBySuspension.delete(tenant)
    for (const a of stopped) {
      try {
        nc.publish(agentSubject({ tenant, type: a.type, id: a.id, tag: "_Wake" }))
      } catch (e) {
        log("warn", `could not wake ${a.type}/${a.id} of tenant "${tenant}": ${(e as Error).message}`)
      }
    }
    log("warn", `tenant "${tenant}" resumed on node ${id}: waking the ${stopped.length} actor(s) its suspension stopped here`)
  }
  const tenantWatch = await watchTenants(
    await tenantsBucket(nc, replicas),
    (tenant, record) => {
      const was = policy.suspended(tenant)
      policy.update(tenant, record)
      if (record?.suspended && !was) suspendLocally(tenant, record.suspended.reason)
      else if (!record?.suspended && was) resumeLocally(tenant)
    },
    log,
  )

  // --- the hot path -----------------------------------------------------------------------
  let accepting = true
  const dispatch = (msg: Msg, routed?: Inbound) => {
    received++
    try {
      const p = routed ?? parseInboundOnce(msg.subject)
      if (p instanceof SubjectError) {
        // the runtime's own mapping probes (another node starting) are the one thing not answered
        if (!msg.reply && isMappingProbe(msg.subject)) return
        return reject(msg, "invalid_subject", p.message)
      }
      // not this node's actor (rebalance, or a queue group split): the owner gets it, once
      if (cluster.forward(msg, p)) return
      const host = hosts.get(p.type)
      if (host === undefined) {
        return reject(msg, "unknown_type", `no agent type "${p.type}" on this swarm's node ${id} (hosted: ${[...hosts.keys()].join(", ") || "none"})`, undefined, p)
      }
      if (host.unavailable !== undefined) return reject(msg, "unavailable", `agent type "${p.type}" is unavailable on node ${id}: ${host.unavailable}`)
      if (!accepting) return reject(msg, "unavailable", `node ${id} is draining; retry`)
      const suspension = policy.suspended(p.tenant)
      if (suspension !== undefined) return reject(msg, "forbidden", `tenant "${p.tenant}" is suspended: ${suspension.reason}`, undefined, p)
      const notServed = scopes.refusal(p.tenant)
      if (notServed !== undefined) return reject(msg, "forbidden", notServed, undefined, p)
      const overRate = policy.admitMessage(p.tenant)
      if (overRate !== undefined) return reject(msg, "quota_exceeded", overRate, undefined, p)
      if (!host.cells.has(p.key) && policy.limitsActivation(p.tenant)) {
        const held = holdingsOf(p.tenant)
        const over = policy.admitActor(p.tenant, held.actors) ?? policy.admitStateBytes(p.tenant, held.bytes)
        if (over !== undefined) return reject(msg, "quota_exceeded", over, undefined, p)
      }
      let message: unknown
      if (p.tag.charCodeAt(0) === 95 /* _ */) {
        if (p.tag !== "_Wake" && p.tag !== "_Inspect") return reject(msg, "unknown_tag", `"${p.tag}" is not a runtime tag (known: _Wake, _Inspect)`, undefined, p)
        message = undefined
      } else {
        const compiled = host.compiled.get(p.tag)
        if (compiled === undefined) {
          return reject(msg, "unknown_tag", `agent type "${p.type}" has no tag "${p.tag}" (known: ${[...host.compiled.keys()].join(", ")})`, undefined, p)
        }
        const data = msg.data
        if (data.length > NODE_DEFAULTS.maxBodyBytes) return reject(msg, "invalid_message", `body of ${data.length} bytes exceeds ${NODE_DEFAULTS.maxBodyBytes}`, undefined, p)
        let json: unknown
        if (data.length === 0) json = {}
        else {
          try {
            json = JSON.parse(decoder.decode(data))
          } catch (e) {
            return reject(msg, "invalid_message", `body is not JSON: ${(e as Error).message}`, undefined, p)
          }
        }
        const r = compiled.decodeMessage(json)
        if (r._tag === "Left") {
          return reject(msg, "invalid_message", `message does not fit ${p.type}.${p.tag}`, parseIssues(r.left), p)
        }
        message = r.right
      }
      const cell = host.cell(p.tenant, p.id, p.key)
      if (!cell.enqueue({ tag: p.tag, message, msg })) {
        return reject(msg, "overloaded", `mailbox of ${p.type}/${p.id} is full (${host.mailboxCapacity} messages); retry later`, undefined, p)
      }
    } catch (e) {
      // Never let a message take the node down.
      log("error", `dispatch of ${msg.subject} failed: ${(e as Error).stack ?? e}`)
      try {
        if (msg.reply) msg.respond(encodeError("unavailable", `node ${id} could not dispatch the message: ${(e as Error).message}`))
      } catch {
        // ignore
      }
    }
  }

  // --- routing -----------------------------------------------------------------------------
  const subs: Subscription[] = []
  const routing = await detectMapping(nc)
  // the cluster subscribes to the partitions this node owns (and follows membership changes)
  await cluster.start(routing)
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
              const event = m.data.length === 0 ? {} : JSON.parse(decoder.decode(m.data))
              stage = "target"
              const target = typeof binding.to === "function" ? binding.to(event, name) : binding.to
              nc.publish(agentSubject({ tenant, type: host.definition.type, id: target, tag: binding.tag }), m.data)
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
  const stats = (): NodeStats => {
    const types: NodeStats["types"] = {}
    for (const [name, host] of hosts) {
      let active = 0
      let idle = 0
      let warming = 0
      const now = Date.now()
      // cost accounting up to now: closed incarnations plus the running ones
      let activeMs = host.stats.activeMs
      let sleepingMs = host.stats.sleepingMs
      for (const c of host.cells.values()) {
        if (c.status === "idle") idle++
        else if (c.status === "warming") warming++
        else if (c.status === "active") active++
        activeMs += now - c.activeSince
      }
      for (const sleptAt of host.sleeping.values()) sleepingMs += now - sleptAt
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
    return {
      node: id,
      url,
      routing,
      partitions: cluster.partitions(),
      received,
      rejected: { ...rejected },
      rejectedEvents,
      recentRejections: [...recent],
      types,
      tenants: activeByTenant(),
      tenantConnections: scopes.openTenants(),
      suspended: policy.suspensions(),
      quotaRefusals: structuredClone(policy.refusals),
    }
  }
  const answerStats = (_e: unknown, m: Msg) => {
    try {
      m.respond(encodeOk(stats()))
    } catch {
      // closing
    }
  }
  subs.push(nc.subscribe(nodeSubject(id, "stats"), { callback: answerStats }))
  if (nodeSupervision) {
    const view = nodeSupervision.view
    const respond = (m: Msg, body: () => Uint8Array) => {
      try {
        m.respond(body())
      } catch {
        // closing
      }
    }
    subs.push(nc.subscribe(supervisionTreeSubject(id), { callback: (_e, m) => respond(m, () => encodeOk(view.inspect())) }))
    subs.push(
      nc.subscribe(supervisionResetSubject(id), {
        callback: (_e, m) =>
          respond(m, () => {
            let body: unknown = {}
            try {
              if (m.data.length > 0) body = JSON.parse(decoder.decode(m.data))
            } catch (e) {
              return encodeError("invalid_message", `reset body is not JSON: ${(e as Error).message}`)
            }
            const r = decodeResetRequest(body)
            if (r._tag === "Left") return encodeError("invalid_message", "reset body does not fit {type?, path?}", parseIssues(r.left))
            try {
              return encodeOk(view.reset(r.right))
            } catch (e) {
              return encodeError("invalid_message", (e as Error).message)
            }
          }),
      }),
    )
  }
  subs.push(nc.subscribe(nodesBroadcastSubject("stats"), { callback: answerStats }))

  // --- lifecycle sweeper -------------------------------------------------------------------
  const tick = Math.max(20, Math.min(1000, Math.floor(Math.min(idleAfterMs, passivateAfterMs) / 2)))
  // What must stay awake (warm pools, always_on and in-window business_hours instances, workers'
  // actors) is re-activated here when it is not: after a stop by its supervisor, a type revived
  // or reset, or when this node gains the actor's partition. At most one attempt a second per actor.
  const wakeAttempts = new Map<string, number>()
  const keepAwake = (now: number) => {
    if (!accepting) return
    const owned = routing === "partitioned" ? new Set(cluster.partitions()) : undefined
    const workers = nodeSupervision?.view.workers() ?? []
    for (const host of hosts.values()) {
      if (host.unavailable !== undefined) continue
      const type = host.definition.type
      const targets: Array<{ tenant: string; id: string }> = idsToKeepAwake(host.definition, now).map((actorId) => ({ tenant: DEFAULT_TENANT, id: actorId }))
      for (const w of workers) if (w.actor.type === type && nodeSupervision!.workerUp(w.actor)) targets.push(w.actor)
      for (const t of targets) {
        const key = `${t.tenant}\u0000${t.id}`
        if (host.cells.has(key)) continue
        if (cluster.ownerOf(type, t.id) !== id || (owned !== undefined && !owned.has(partitionOf(type, t.id)))) continue
        const attempt = `${type}\u0000${key}`
        const last = wakeAttempts.get(attempt)
        if (last !== undefined && now - last < 1000) continue
        wakeAttempts.set(attempt, now)
        host.cell(t.tenant, t.id)
      }
    }
  }
  const sweeper = setInterval(() => {
    const now = Date.now()
    keepAwake(now)
    for (const host of hosts.values()) {
      for (const cell of host.cells.values()) {
        if (cell.busy) continue
        if (cell.status === "active" && now - cell.lastActivity >= idleAfterMs) {
          cell.status = "idle"
          host.transition(cell, "active", "idle")
        }
        if (cell.status === "idle" && now - cell.lastActivity >= host.passivateAfterMs && host.mayPassivate(cell, now)) {
          void host.passivate(cell).catch((e) => log("warn", `passivation of ${host.definition.type}/${cell.id} failed: ${(e as Error).message}`))
        }
      }
    }
  }, tick)
  sweeper.unref()

  // --- shutdown ------------------------------------------------------------------------------
  let closing: Promise<void> | undefined
  let resolveClosed!: () => void
  const closed = new Promise<void>((r) => (resolveClosed = r))
  const busyCells = () => {
    let n = 0
    for (const h of hosts.values()) for (const c of h.cells.values()) if (c.busy) n++
    return n
  }
  // When the connection is gone (the server died, the network broke) nothing drain sends can
  // get out, and flush/KV calls would wait for a reconnect forever: every step is bounded.
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? NODE_DEFAULTS.shutdownTimeoutMs
  let lostAt: number | undefined
  void (async () => {
    for await (const st of nc.status()) {
      if (st.type === "disconnect" || st.type === "close") lostAt ??= Date.now()
      else if (st.type === "reconnect") lostAt = undefined
    }
  })().catch(() => undefined)
  const connectionGone = () => nc.isClosed() || (lostAt !== undefined && Date.now() - lostAt >= NODE_DEFAULTS.drainDisconnectedMs)
  /**
   * Runs one drain step, giving up (with a warning) once the connection has been gone for
   * drainDisconnectedMs, or after three shutdown timeouts (a safety net: the steps bound their
   * own waits by the shutdown timeout while connected).
   */
  const stepLimitMs = 3 * shutdownTimeoutMs
  const bounded = async (what: string, work: () => Promise<unknown>): Promise<boolean> => {
    const started = Date.now()
    let done = false
    const w = (async () => work())().then(
      () => void (done = true),
      (e) => {
        done = true
        log("warn", `${what} failed on drain: ${(e as Error).message}`)
      },
    )
    while (!done) {
      const gone = connectionGone()
      if (gone || Date.now() - started >= stepLimitMs) {
        log("warn", `drain: ${what} did not finish within ${Date.now() - started} ms${gone ? " (the NATS connection is gone)" : ""}; going on`)
        return false
      }
      let t: ReturnType<typeof setTimeout> | undefined
      await Promise.race([w, new Promise<void>((r) => (t = setTimeout(r, 50)))])
      clearTimeout(t)
    }
    return true
  }
  const drain = () =>
    (closing ??= (async () => {
      // graceful leave first: partitions and actors are handed over, so asks in flight succeed
      await bounded("hand-over", () => cluster.leave())
      accepting = false
      clearInterval(sweeper)
      schedules.stop()
      // running tasks finish within the shutdown timeout; the rest are handed back for redelivery
      await bounded("stopping the task engine", async () => await tasks?.stop({ graceMs: Math.floor(shutdownTimeoutMs * 0.8) }))
      await bounded("closing stigmergy", () => stigmergy.close())
      tenantWatch.stop()
      await bounded("closing tenant connections", () => scopes.close())
      for (const s of subs) s.unsubscribe()
      // let messages already delivered to us (in the socket buffer) reach their mailboxes
      await bounded("flush", () => nc.flush())
      const started = Date.now()
      const deadline = started + shutdownTimeoutMs
      while (busyCells() > 0 && Date.now() < deadline && !connectionGone()) {
        await new Promise<void>((r) => {
          settleWaiters.push(r)
          setTimeout(r, 50)
        })
      }
      if (busyCells() > 0) log("warn", `drain: ${busyCells()} actor(s) still busy after ${Date.now() - started} ms; closing anyway`)
      await bounded("checkpoints", async () => {
        for (const h of hosts.values()) {
          if (h.checkpointPolicy === "never") continue
          // forced: an unchanged state still gets its cost accounting written
          await Promise.all([...h.cells.values()].map((c) => c.checkpointNow(undefined, true).catch(() => undefined)))
        }
      })
      await bounded("leaving the swarm", () => cluster.close())
      if (ownConnection && !(await bounded("closing the connection", () => nc.drain()))) await nc.close().catch(() => undefined)
      await embedded?.stop()
      resolveClosed()
    })())

  // --- time- and start-driven wakes (tiers, warm pools, schedules) ---------------------------
  const wake = (type: string, actorId: string) => {
    try {
      nc.publish(agentSubject({ tenant: DEFAULT_TENANT, type, id: actorId, tag: "_Wake" }))
    } catch (e) {
      log("warn", `could not wake ${type}/${actorId}: ${(e as Error).message}`)
    }
  }
  const schedules = await startSchedules(nc, options.agents, { nodeId: id, replicas, log, wake })
  for (const host of hosts.values()) for (const actorId of idsToWakeAtStart(host.definition, Date.now())) wake(host.definition.type, actorId)
  for (const w of nodeSupervision?.view.workers() ?? []) {
    try {
      nc.publish(agentSubject({ tenant: w.actor.tenant, type: w.actor.type, id: w.actor.id, tag: "_Wake" }))
    } catch (e) {
      log("warn", `could not wake ${w.actor.type}/${w.actor.id}: ${(e as Error).message}`)
    }
  }

  await stigmergy.startInterests(options.agents, log)
  const paused = (tenant: string) => policy.suspended(tenant)?.reason
  // the task backlog quota: the tenant's tasks waiting in the stream, read only when it has one
  const admit = async (tenant: string) => {
    if (policy.quotas(tenant).taskBacklog === undefined) return undefined
    return policy.admitTask(tenant, await taskBacklog(nc, tenant))
  }
  const taskOptions = { ...options.tasks, admit, workerDefaults: { ...options.tasks?.workerDefaults, paused } }
  const tasks = await startNodeTasks(nc, options.agents, { nodeId: id, replicas, pheromones: (t, e) => stigmergy.pheromones(t, e), log }, taskOptions)

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
  }
}

/** Learns whether the server rewrites agent subjects into partitions (nats.conf's mapping). */
async function detectMapping(nc: NatsConnection): Promise<"partitioned" | "direct"> {
  const nonce = randomUUID().replace(/-/g, "")
  const probe = mappingProbeSubject(nonce)
  let mapped = false
  let direct = false
  // ants._sys.agent.probe.<nonce>.Probe becomes ants._part.<p>._sys.probe.<nonce>.Probe when mapped
  const subMapped = nc.subscribe(mappedProbePattern(nonce), { callback: () => void (mapped = true) })
  const subDirect = nc.subscribe(probe, { callback: () => void (direct = true) })
  await nc.flush()
  for (let i = 0; i < 50 && !mapped && !direct; i++) {
    nc.publish(probe)
    await nc.flush()
    await new Promise((r) => setTimeout(r, 10))
  }
  subMapped.unsubscribe()
  subDirect.unsubscribe()
  return mapped ? "partitioned" : "direct"
}
