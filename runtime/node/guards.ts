/**
 * What a node checks and counts before any work is done on a message (the limits layer wired
 * for one node): the message ledger, the resolved limits (body bytes never above the server's
 * max_payload), the per-tenant and per-actor token buckets, the JSON limits, the loop monitor
 * (its reports go to the type host of the actor named, else to the log) and the node's
 * mailbox byte budget.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { ResolvedLimits } from "../actor/host-node.ts"
import type { TypeHost } from "../actor/type-host.ts"
import { LoopMonitor } from "../cpu/loop-monitor.ts"
import { MessageLedger } from "../limits/message-ledger.ts"
import { NODE_LIMIT_DEFAULTS, type NodeLimits } from "../limits/node-limits.ts"
import type { JsonLimits } from "../limits/safe-json.ts"
import { RateLimiter } from "../limits/token-bucket.ts"
import type { Logger } from "./options.ts"

export interface NodeGuards {
  readonly ledger: MessageLedger
  readonly limits: ResolvedLimits
  readonly jsonLimits: JsonLimits
  readonly tenantRates: RateLimiter
  readonly agentRates: RateLimiter
  readonly monitor: LoopMonitor
  readonly budget: { bytes: number; readonly max: number }
}

export function createGuards(options: NodeLimits | undefined, nc: NatsConnection, hosts: ReadonlyMap<string, TypeHost>, log: Logger): NodeGuards {
  const limits = resolveLimits(options, nc.info?.max_payload)
  const monitor = new LoopMonitor({
    thresholdMs: options?.loopBlockMs ?? NODE_LIMIT_DEFAULTS.loopBlockMs,
    onBlocked: (r) => {
      if (r.actor) hosts.get(r.actor.type)?.blocked(r.actor, r.blockedMs)
      else log("warn", `the event loop was blocked for ${Math.round(r.blockedMs)} ms outside any handler's synchronous part${r.suspects.length ? `; handlers in flight: ${r.suspects.map((a) => `${a.type}/${a.id}`).join(", ")}` : ""}`)
    },
  })
  return {
    ledger: new MessageLedger(),
    limits,
    jsonLimits: { maxDepth: limits.maxDepth, maxKeys: limits.maxKeys },
    tenantRates: new RateLimiter({ limit: options?.tenantRate ?? NODE_LIMIT_DEFAULTS.tenantRate, overrides: options?.tenantRates }),
    agentRates: new RateLimiter({ limit: options?.agentRate ?? NODE_LIMIT_DEFAULTS.agentRate }),
    monitor,
    budget: { bytes: 0, max: options?.nodeQueueBytes ?? NODE_LIMIT_DEFAULTS.nodeQueueBytes },
  }
}

/** The node's limits with every default filled in; the body limit never exceeds what the server carries. */
export function resolveLimits(l: NodeLimits | undefined, maxPayload: number | undefined): ResolvedLimits {
  const server = maxPayload && maxPayload > 0 ? maxPayload : NODE_LIMIT_DEFAULTS.maxBodyBytes
  return {
    maxBodyBytes: Math.min(l?.maxBodyBytes ?? server, server),
    maxDepth: l?.maxDepth ?? NODE_LIMIT_DEFAULTS.maxDepth,
    maxKeys: l?.maxKeys ?? NODE_LIMIT_DEFAULTS.maxKeys,
    mailboxBytes: l?.mailboxBytes ?? NODE_LIMIT_DEFAULTS.mailboxBytes,
    handlerTimeoutMs: l?.handlerTimeoutMs ?? NODE_LIMIT_DEFAULTS.handlerTimeoutMs,
    maxPayload: server,
  }
}
