/**
 * Forwarding: a message that reaches a node which neither has the actor active nor owns it is
 * published to the owner's route subject (routeSubject in subjects/cluster.ts) with the original
 * reply subject, so exactly one node handles it and the reply goes straight to the caller.
 * Header `Ants-Hops` bounds the hops (8); past it the caller gets `unavailable`. An ask is
 * forwarded as this node's own request and its reply relayed, so that a holder that has just
 * died ("no responders") is noticed here and the ask re-routed, not lost. Messages forwarded
 * to this node arrive on its route subject and go to the node's dispatch path.
 */
import { headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/nats-core"
import { isNoResponders } from "../client/no-responders.ts"
import { HOPS_HEADER, routeSubject } from "../../subjects/cluster.ts"
import { encodeError } from "../../subjects/envelope.ts"
import { SubjectError, type AgentSubjectParts, type ParsedInbound } from "../../subjects/grammar.ts"
import { parseRoutedOnce, toInbound } from "../../subjects/inbound.ts"
import { CLUSTER_DEFAULTS } from "./cluster-options.ts"
import type { Leases } from "./leases.ts"
import type { LocalActors } from "./local-actors.ts"
import type { Membership } from "./membership.ts"
import { injectActive } from "../observability/tracing.ts"

/** How long a node relays the reply of an ask it forwarded (handlers may be slow, e.g. LLM calls). */
const FORWARD_TIMEOUT_MS = 300_000

export interface ForwardingDeps {
  readonly nc: NatsConnection
  readonly actors: Pick<LocalActors, "dispatch">
  readonly leases: Pick<Leases, "pendingRelease">
  readonly membership: Pick<Membership, "probe" | "isLive">
  readonly log: (level: "info" | "warn" | "error", message: string) => void
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Answers an ask with an error envelope (a tell has no one to answer). */
function answerError(msg: Msg, code: "unavailable" | "invalid_subject", message: string): void {
  try {
    if (msg.reply) msg.respond(encodeError(code, message))
  } catch {
    // closing
  }
}

export function createForwarding(d: ForwardingDeps) {
  const { nc, actors, leases, membership, log } = d
  let forwarded = 0
  /** Asks forwarded by this node whose reply it still has to relay (close waits for them). */
  let relaying = 0

  const send = (owner: string, part: number, parts: AgentSubjectParts, msg: Msg) => {
    const hops = Number(msg.headers?.get(HOPS_HEADER) || "0") + 1
    if (hops > CLUSTER_DEFAULTS.maxHops) {
      log("warn", `message for ${parts.type}/${parts.id} went round ${hops - 1} nodes while ownership changed; answered unavailable`)
      answerError(msg, "unavailable", `${parts.type}/${parts.id} is moving between nodes; retry`)
      return
    }
    const h = natsHeaders()
    if (msg.headers) for (const [k, vs] of msg.headers) for (const v of vs) h.append(k, v)
    h.set(HOPS_HEADER, String(hops))
    // the trace goes on from this node's dispatch span (the caller's traceparent is replaced)
    injectActive(h)
    const subject = routeSubject(owner, part, parts)
    const go = () => {
      try {
        if (!msg.reply) {
          nc.publish(subject, msg.data, { headers: h })
          return
        }
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
        actors.dispatch(msg, toInbound(p))
        return
      }
    }
    answerError(msg, "unavailable", `node ${gone} that holds ${p.type}/${p.id} does not answer; retry`)
  }

  /** A message another node forwarded here (on this node's route subject). */
  const onRouted = (m: Msg) => {
    const p = parseRoutedOnce(m.subject)
    if (p instanceof SubjectError) return answerError(m, "invalid_subject", p.message)
    actors.dispatch(m, p)
  }

  return {
    send,
    onRouted,
    /** Messages this node forwarded. */
    forwarded: () => forwarded,
    /** Asks forwarded whose reply is still to relay. */
    relaying: () => relaying,
  }
}
