/**
 * The task marketplace (seed "Task marketplace and queues"): instead of handing a task to
 * whichever interchangeable worker pulls it, the task is announced and agents bid for it.
 *
 *   1. A broker — a worker from `serveCapability(nc, cap, market.handler(), ...)`, so every
 *      durability promise of the queue (claim, retries, dead letters, status) still holds —
 *      takes the task from its lane, deposits a `task` pheromone at the capability's location
 *      (strength = priority/10 × urgency × 1/attempt, `taskPheromoneStrength`) and publishes a
 *      call for bids on ants._sys.tasks.<tenant>.market.<capability>.
 *   2. Every idle agent whose capabilities match scores itself (`bidScore`: capability match,
 *      current load, its success rate on the capability, pheromone strength — the `task` trail's
 *      current, evaporated strength as detected when the bidder has a pheromone API, else the
 *      strength announced) and waits `bidWindowMs × (1 − score / best)`, `best` being the
 *      score of a perfect bidder on the same call (`bidDelayMs`): the best bidder acts first,
 *      a perfect one at once.
 *      The bidders of one marketplace (one node's agents) hear a call once and read its trail
 *      once between them. A call none of them claimed at once stays open for them until it
 *      is claimed (its broker closes it) or its no-bid timeout nears: a bidder that becomes
 *      idle (its task done, a claim lost) bids on the best open call at once (market-calls.ts).
 *      A broker running more auctions than it has agents keeps such calls waiting, so an agent
 *      goes from one task to the next with one claim in between.
 *   3. It claims with a KV create-if-absent on `ants_task_claims` key
 *      `<tenant>.<id>.<resubmits>.<attempt>`: exactly one agent wins each attempt of each
 *      generation (a resubmitted dead letter starts a new one); the others drop out. Of one
 *      marketplace's bidders only the first whose wait runs out claims; the others drop out
 *      when it has won or found the task taken (and try in turn if its claim got no answer). The broker
 *      tells its worker who won (`ctx.assign`), so the task's status shows the agent as claimant.
 *   4. The winner runs the task, reporting liveness to the broker, and replies the result. The
 *      broker records it like any handler result: success deposits `success` at the location,
 *      failure deposits `danger` and the queue retries (a fresh auction, weaker pheromone).
 *      No bid within `noBidTimeoutMs` fails the attempt; on the last attempt the dead-letter
 *      reason is `no_handler`.
 *
 * Signals: with `pheromones` (a runtime node passes its own) the marketplace deposits `task`,
 * `success` and `danger` trails by default; without, and without `signals`, it deposits none.
 *
 * When to use which: plain queue delivery (`serveCapability` with a handler) when workers are
 * interchangeable and throughput matters — no extra round trips. The marketplace when agents
 * differ (specialised capabilities, load, track record) and choosing well is worth a bid window
 * per task (default 100 ms), or when agents should pick up work by stigmergy (the pheromone).
 *
 * Exactly-one relies on KV create being atomic: true on a single server and on clustered
 * servers from 2.9.11 on (not serialized on clustered 2.9.10).
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node"
import { DEFAULT_TENANT, token } from "../../subjects/grammar.ts"
import { taskClaimKey, taskMarketSubject, taskMarketWildcard } from "../../subjects/tasks.ts"
import type { Pheromones } from "../stigmergy/mod.ts"
import { assignmentReceipt, type AssignmentReceipt } from "./assignment-receipt.ts"
import { claimCall, OfferReports, OpenCalls, type CallClosed, type CallForBids, type ClaimOutcome, type HeardCall, type WinnerReport } from "./market-calls.ts"
import { NoBidderError, errorMessage } from "./errors.ts"
import { ensureTaskStreams } from "./streams.ts"
import { bidDelayMs, bidScore, capabilityMatch, taskPheromoneStrength } from "./bid-rules.ts"
import { noSignals, pheromoneSignals, type TaskSignals } from "./task-signals.ts"
import type { TaskContext, TaskHandler } from "./worker.ts"

export { BID_WEIGHTS, URGENCY_HORIZON_MS, bidDelayMs, bidScore, capabilityMatch, taskPheromoneStrength, taskUrgency } from "./bid-rules.ts"
export { noSignals, pheromoneSignals, type TaskSignals } from "./task-signals.ts"

// ---------------------------------------------------------------------------------------
// Marketplace

export interface MarketplaceOptions {
  readonly tenant?: string
  /**
   * A pheromone API of the tenant: `task`/`success`/`danger` trails are deposited through it
   * (unless `signals` says otherwise) and bidders read the task trail's current strength.
   */
  readonly pheromones?: Pheromones
  /** Pheromone side. Default `pheromoneSignals(pheromones)` when `pheromones` is given, else `noSignals`. */
  readonly signals?: TaskSignals
  /** The longest a bidder waits (a perfect bid waits 0: `bidDelayMs`). Default 100 ms. */
  readonly bidWindowMs?: number
  /** An attempt fails when nobody claimed within this. Default 2000 ms. */
  readonly noBidTimeoutMs?: number
  /** An attempt fails when the winner is silent this long (it reports every third of it). Default 10 s. */
  readonly winnerSilenceMs?: number
  /** Told each assignment (who won which attempt, and why): a node's audit records it. */
  readonly onAssign?: (tenant: string, receipt: AssignmentReceipt) => void
}

export interface BidderSpec {
  /** Unique per agent; what the claim and the `claimed` record show. */
  readonly agentId: string
  /** Capabilities or patterns (`finance.*`, `finance.>`). */
  readonly capabilities: ReadonlyArray<string>
  /** Current load in [0, 1]; an agent at 1 does not bid. Default (tasks running + claims in flight)/maxConcurrent. */
  readonly load?: () => number
  /** Success rate on a capability in [0, 1]. Default: this bidder's own record, (successes+1)/(tasks+2). */
  readonly successRate?: (capability: string) => number
  /** Tasks this agent runs at once. Default 1. */
  readonly maxConcurrent?: number
  readonly handle: (payload: any, ctx: MarketTaskContext) => unknown
}

/** What the winning agent's handler gets: a TaskContext (its `workerId` is the agent id). */
export interface MarketTaskContext extends TaskContext {
  readonly agentId: string
}

export interface BidderHandle {
  readonly agentId: string
  stats(): { readonly bids: number; readonly won: number; readonly lost: number; readonly completed: number; readonly failed: number }
  /** Stops bidding; waits up to `graceMs` (default 10 s) for the tasks it won to finish. */
  stop(opts?: { graceMs?: number }): Promise<void>
}

export interface OfferResult {
  readonly agentId: string
  readonly value: unknown
}

export interface Marketplace {
  readonly tenant: string
  /** A handler for `serveCapability`: each task is auctioned and run by the winning agent. */
  handler(): TaskHandler
  /** Auctions one task attempt; resolves with the winner's result, rejects with its error or NoBidderError. */
  offer(
    ctx: Pick<TaskContext, "id" | "attempt" | "capability" | "priority" | "deadline" | "sessionId" | "submittedAt"> &
      Partial<Pick<TaskContext, "maxAttempts" | "resubmits" | "working" | "assign">>,
    payload: unknown,
  ): Promise<OfferResult>
  /** Registers an agent that bids on matching tasks. */
  bid(spec: BidderSpec): Promise<BidderHandle>
  stop(): Promise<void>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A market message's body, or undefined when it is not JSON (a stray publish is ignored). */
function jsonOf<T>(data: Uint8Array): T | undefined {
  try {
    return JSON.parse(decoder.decode(data)) as T
  } catch {
    return undefined
  }
}

/**
 * How long a heard call's own strength stands for its trail's. A `task` trail fades linearly over
 * 10 minutes, so in this time it loses under 0.1%: reading it then was a round trip on the way
 * to every first bid (one read per call per node) for nothing. A call taken later from the open
 * calls (an agent that became idle) reads the trail, as the bidders did on every call before.
 */
const TRAIL_FRESH_MS = 500

export function createMarketplace(nc: NatsConnection, opts: MarketplaceOptions = {}): Marketplace {
  const tenant = token("tenant", opts.tenant ?? DEFAULT_TENANT)
  const ph = opts.pheromones
  const signals = opts.signals ?? (ph ? pheromoneSignals(ph) : noSignals)
  const bidWindowMs = opts.bidWindowMs ?? 100
  const noBidTimeoutMs = opts.noBidTimeoutMs ?? 2_000
  const winnerSilenceMs = opts.winnerSilenceMs ?? 10_000
  const bidders = new Set<BidderHandle>()

  // The marketplace's bidders share one subscription to the calls, one read of a call's task
  // trail and one claim: with one subscription each, every call came over the wire once per
  // bidder, every idle bidder read the trail itself and every one whose wait ran out tried the
  // claim (24 agents on 3 nodes: about 4 trail reads, 10 claim writes and 9 claim reads a task).
  const listeners = new Set<(heard: HeardCall) => void>()
  // calls heard while no matching bidder was idle, for the first that becomes idle (market-calls.ts)
  const open = new OpenCalls(Math.max(0, noBidTimeoutMs - 250))
  let calls: Subscription | undefined
  const trailStrength = (call: CallForBids): Promise<number> =>
    ph
      ? ph.get({ location: call.capability, id: call.id }).then(
          (trail) => (trail && trail.type === "task" ? trail.current : call.strength),
          () => call.strength,
        )
      : Promise.resolve(call.strength)
  // a call's claim key names it, at the claims bucket and among the open calls
  const claimKeyOf = (id: string, c: { readonly attempt: number; readonly resubmits?: number }): string | undefined => {
    try {
      return taskClaimKey(tenant, id, c.attempt, c.resubmits ?? 0)
    } catch {
      return undefined
    }
  }
  const listen = (l: (heard: HeardCall) => void): (() => void) => {
    listeners.add(l)
    calls ??= nc.subscribe(taskMarketWildcard(tenant), {
      callback: (_e, m) => {
        const msg = jsonOf<CallForBids | CallClosed>(m.data)
        if (msg === undefined || typeof msg !== "object" || msg === null) return // a stray publish
        const key = claimKeyOf("closed" in msg ? msg.closed : msg.id, msg)
        if (key === undefined) return // not a claimable call: nobody could claim it
        if ("closed" in msg) return open.close(key)
        const call = msg
        // the trail is read when the first idle, matching bidder asks for it, unless the call is
        // fresh: its strength is the trail's as deposited, and a task trail fades over 10 minutes
        let read: Promise<number> | undefined
        const heardAt = Date.now()
        const strength = () => (Date.now() - heardAt < TRAIL_FRESH_MS ? Promise.resolve(call.strength) : (read ??= trailStrength(call)))
        const heard: HeardCall = { call, claimKey: key, heardAt, strength, claim: undefined, settled: false }
        open.add(heard)
        for (const f of listeners) f(heard)
      },
    })
    return () => {
      listeners.delete(l)
      if (listeners.size === 0) {
        calls?.unsubscribe()
        calls = undefined
      }
    }
  }

  // the winners' reports of every offer, on one subscription (market-calls.ts)
  const reports = new OfferReports(nc)

  const offer: Marketplace["offer"] = async (ctx, payload) => {
    const strength = taskPheromoneStrength({ priority: ctx.priority, attempt: ctx.attempt, deadline: ctx.deadline, now: Date.now() })
    await signals.announce({ capability: ctx.capability, taskId: ctx.id, strength, priority: ctx.priority, attempt: ctx.attempt }).catch(() => undefined)
    let winner: string | undefined
    let reportTo = ""
    const outcome = await new Promise<OfferResult>((resolve, reject) => {
      let timer = setTimeout(() => reject(new NoBidderError(`no agent claimed task ${ctx.id} (${ctx.capability}) within ${noBidTimeoutMs} ms`)), noBidTimeoutMs)
      const rearm = () => {
        clearTimeout(timer)
        timer = setTimeout(() => reject(new Error(`agent ${winner} went silent on task ${ctx.id} for ${winnerSilenceMs} ms`)), winnerSilenceMs)
      }
      reportTo = reports.open((m) => {
        const r = jsonOf<WinnerReport>(m.data)
        if (r === undefined) return
        if (winner === undefined && r.type === "claimed") {
          winner = r.agentId
          // the other nodes' marketplaces may hold the call open for an agent that becomes idle
          const closed: CallClosed = { closed: ctx.id, attempt: ctx.attempt, resubmits: ctx.resubmits ?? 0 }
          nc.publish(taskMarketSubject(tenant, ctx.capability), encoder.encode(JSON.stringify(closed)))
          ctx.assign?.(winner)
          opts.onAssign?.(tenant, assignmentReceipt(ctx, winner, r.bid))
        }
        if (r.agentId !== winner) return
        if (r.type === "result") {
          clearTimeout(timer)
          if (r.ok) resolve({ agentId: r.agentId, value: r.value })
          else reject(Object.assign(new Error(r.error), { agentId: r.agentId }))
          return
        }
        ctx.working?.()
        rearm()
      })
      const call: CallForBids = {
        id: ctx.id,
        tenant,
        attempt: ctx.attempt,
        maxAttempts: ctx.maxAttempts ?? ctx.attempt,
        resubmits: ctx.resubmits ?? 0,
        capability: ctx.capability,
        priority: ctx.priority,
        strength,
        payload,
        ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}),
        ...(ctx.sessionId !== undefined ? { sessionId: ctx.sessionId } : {}),
        submittedAt: ctx.submittedAt,
        reply: reportTo,
      }
      nc.publish(taskMarketSubject(tenant, ctx.capability), encoder.encode(JSON.stringify(call)))
    }).then(
      async (r) => {
        await signals.completed({ capability: ctx.capability, taskId: ctx.id, agentId: r.agentId }).catch(() => undefined)
        return r
      },
      async (e) => {
        const final = ctx.maxAttempts !== undefined && ctx.attempt >= ctx.maxAttempts
        if (winner) await signals.failed({ capability: ctx.capability, taskId: ctx.id, agentId: winner, error: errorMessage(e), final }).catch(() => undefined)
        else if (final && ph) await ph.evaporate({ location: ctx.capability, id: ctx.id }).catch(() => false)
        throw e
      },
    ).finally(() => reports.close(reportTo))
    return outcome
  }

  return {
    tenant,
    handler: () => async (payload, ctx) => (await offer(ctx, payload)).value,
    offer,
    async bid(spec) {
      await ensureTaskStreams(nc) // the claims bucket
      if (typeof spec.agentId !== "string" || spec.agentId.length === 0) throw new TypeError("a bidder needs a non-empty agentId")
      const maxConcurrent = Math.max(1, spec.maxConcurrent ?? 1)
      let running = 0
      let claiming = 0
      let stopped = false
      const idleWaiters: Array<() => void> = []
      const record = new Map<string, { ok: number; n: number }>()
      const counts = { bids: 0, won: 0, lost: 0, completed: 0, failed: 0 }
      const load = spec.load ?? (() => (running + claiming) / maxConcurrent)
      const successRate =
        spec.successRate ??
        ((cap: string) => {
          const r = record.get(cap)
          return r ? (r.ok + 1) / (r.n + 2) : 0.5
        })
      const report = (to: string, r: WinnerReport) => nc.publish(to, encoder.encode(JSON.stringify(r)))
      const matchOf = (capability: string) => Math.max(0, ...spec.capabilities.map((p) => capabilityMatch(p, capability)))
      // idle again (a task done, a call lost): the best call still open, if any, at once
      const takeNext = () => {
        if (stopped || load() >= 1) return
        const next = open.next((c) => matchOf(c.capability) > 0)
        if (next !== undefined) void onCall(next).catch(() => undefined)
      }
      const onCall = async (heard: HeardCall): Promise<void> => {
        const call = heard.call
        const match = matchOf(call.capability)
        if (match === 0) return
        if (load() >= 1) return // not idle: no bid
        // Follow the trail: what the task pheromone is worth now, not when it was announced.
        const strength = await heard.strength()
        const parts = { capabilityMatch: match, load: load(), successRate: successRate(call.capability), strength },
          score = bidScore(parts)
        counts.bids++
        await new Promise((r) => setTimeout(r, bidDelayMs(parts, bidWindowMs)))
        if (load() >= 1) return
        // The bidder of this marketplace whose wait ran out first claims the call: then it won
        // or the task is taken. Only a claim that got no answer from the store is tried again.
        let other: Promise<ClaimOutcome> | undefined
        while ((other = heard.claim) !== undefined) {
          if ((await other) !== "failed") {
            counts.lost++
            return takeNext()
          }
          if (heard.claim === other) heard.claim = undefined
        }
        if (load() >= 1) return
        const mine = claimCall(nc, heard.claimKey, spec.agentId)
        heard.claim = mine
        claiming++
        const outcome = await mine.finally(() => claiming--)
        if (outcome === "failed" && heard.claim === mine) heard.claim = undefined
        else heard.settled = true
        if (outcome !== "won") {
          counts.lost++
          return takeNext()
        }
        counts.won++
        running++
        report(call.reply, { type: "claimed", agentId: spec.agentId, bid: { score, ...parts } })
        const hb = setInterval(() => report(call.reply, { type: "working", agentId: spec.agentId }), Math.max(100, Math.floor(winnerSilenceMs / 3)))
        const rec = record.get(call.capability) ?? { ok: 0, n: 0 }
        record.set(call.capability, rec)
        try {
          const value = await spec.handle(call.payload, {
            id: call.id,
            tenant,
            capability: call.capability,
            priority: call.priority,
            attempt: call.attempt,
            maxAttempts: call.maxAttempts ?? call.attempt,
            ...(call.sessionId !== undefined ? { sessionId: call.sessionId } : {}),
            ...(call.deadline !== undefined ? { deadline: call.deadline } : {}),
            submittedAt: call.submittedAt,
            workerId: spec.agentId,
            resubmits: call.resubmits ?? 0,
            agentId: spec.agentId,
            working: () => report(call.reply, { type: "working", agentId: spec.agentId }),
            assign: () => undefined,
          })
          rec.ok++
          rec.n++
          counts.completed++
          report(call.reply, { type: "result", agentId: spec.agentId, ok: true, value: value === undefined ? null : value })
        } catch (e) {
          rec.n++
          counts.failed++
          report(call.reply, { type: "result", agentId: spec.agentId, ok: false, error: errorMessage(e) })
        } finally {
          clearInterval(hb)
          running--
          if (running === 0) for (const w of idleWaiters.splice(0)) w()
          takeNext()
        }
      }
      const unlisten = listen((heard) => void onCall(heard).catch(() => undefined))
      const handle: BidderHandle = {
        agentId: spec.agentId,
        stats: () => ({ ...counts }),
        async stop(o) {
          stopped = true
          unlisten()
          bidders.delete(handle)
          const graceMs = o?.graceMs ?? 10_000
          if (running > 0) {
            await new Promise<void>((r) => {
              const t = setTimeout(r, graceMs)
              idleWaiters.push(() => {
                clearTimeout(t)
                r()
              })
            })
          }
        },
      }
      bidders.add(handle)
      await nc.flush()
      return handle
    },
    async stop() {
      await Promise.all([...bidders].map((b) => b.stop()))
      reports.stop()
    },
  }
}
