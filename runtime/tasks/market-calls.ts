/**
 * The marketplace's calls for bids as its bidders see them (marketplace.ts): the wire messages,
 * the claim, and the calls still open.
 *
 * Open calls: a call heard while every matching bidder of the marketplace was busy is kept
 * (until the broker's no-bid timeout would fail it, or someone claimed it), and a bidder that
 * becomes idle takes the best of them at once (highest priority, then the oldest) instead of
 * waiting for a fresh call. With a broker running more auctions than there are agents, an agent
 * that finishes a task starts its next after one claim, not after the broker recorded the
 * result, acked it, pulled the next task, marked its trail and called for bids. A broker closes
 * its call on the call's subject once an agent claimed it (`CallClosed`), so the calls other
 * nodes' agents took are not tried again here (a failed claim, a stored write, each). The
 * winners' reports come back to the broker's marketplace on one subscription (`OfferReports`).
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node"
import { createInbox } from "@nats-io/nats-core"
import { TASK_CLAIMS_BUCKET } from "../../subjects/tasks.ts"
import { isWrongLastSequence, kvSubject } from "../../subjects/jetstream.ts"
import { KV_TIMEOUT_MS, storedPublish } from "../server/stored-publish.ts"
import type { BidReason } from "./assignment-receipt.ts"

export interface CallForBids {
  readonly id: string
  readonly tenant: string
  readonly attempt: number
  readonly maxAttempts: number
  /** Resubmit generation: part of the claim key. */
  readonly resubmits: number
  readonly capability: string
  readonly priority: number
  readonly strength: number
  readonly payload: unknown
  readonly deadline?: number
  readonly sessionId?: string
  readonly submittedAt: string
  /** Where the winner reports: `claimed`, `working`, `result`. */
  readonly reply: string
}

export type WinnerReport =
  | { readonly type: "claimed" | "working"; readonly agentId: string; readonly bid?: BidReason }
  | { readonly type: "result"; readonly agentId: string; readonly ok: true; readonly value: unknown }
  | { readonly type: "result"; readonly agentId: string; readonly ok: false; readonly error: string }

/** What a broker publishes on its call's subject once the call was claimed: the call is closed. */
export interface CallClosed {
  readonly closed: string
  readonly attempt: number
  readonly resubmits: number
}

/** A call as the bidders of one marketplace see it: the trail read and the claim are shared. */
export interface HeardCall {
  readonly call: CallForBids
  /** Its claim key in `ants_task_claims` (`taskClaimKey`), which also names it among the open calls. */
  readonly claimKey: string
  /** When this marketplace heard it (ms, `Date.now()`). */
  readonly heardAt: number
  strength(): Promise<number>
  /** The claim made by one of this marketplace's bidders, while it is in flight and after. */
  claim: Promise<ClaimOutcome> | undefined
  /** Claimed by a bidder of this marketplace, or found taken: no longer open. */
  settled: boolean
}

/** `taken`: another bidder holds the claim; `failed`: no answer from the store (nothing known). */
export type ClaimOutcome = "won" | "taken" | "failed"

/**
 * Claims a call: a create-if-absent of the claim key, one stored write (nats.js's `kv.create`
 * reads the key after a refusal, to tell a deleted key from a live one: claim keys are never
 * deleted, only aged out whole, so a refusal means another bidder holds it).
 */
export async function claimCall(nc: NatsConnection, key: string, agentId: string): Promise<ClaimOutcome> {
  try {
    await storedPublish(nc, kvSubject(TASK_CLAIMS_BUCKET, key), agentId, { expectedLastSubjectSequence: 0, timeoutMs: KV_TIMEOUT_MS })
    return "won"
  } catch (e) {
    return isWrongLastSequence(e) ? "taken" : "failed"
  }
}

/** At most this many open calls are kept (the oldest go first). */
const MAX_OPEN = 1_000

/** The calls a marketplace heard that nobody it knows of has claimed yet. */
export class OpenCalls {
  private readonly calls: HeardCall[] = []
  private readonly byKey = new Map<string, HeardCall>()

  /** `openMs`: how long a call stays open (the broker's no-bid timeout, less a margin for the claim). */
  constructor(private readonly openMs: number) {}

  add(heard: HeardCall): void {
    this.prune(heard.heardAt)
    if (this.calls.length >= MAX_OPEN) this.forget(this.calls.shift()!)
    this.calls.push(heard)
    this.byKey.set(heard.claimKey, heard)
  }

  /** The call of this claim key was claimed (by whomever): no longer open. */
  close(claimKey: string): void {
    const heard = this.byKey.get(claimKey)
    if (heard !== undefined) heard.settled = true
  }

  /** The best open call `matches` accepts that no bidder of this marketplace is claiming: highest priority, then the oldest. */
  next(matches: (call: CallForBids) => boolean, now = Date.now()): HeardCall | undefined {
    this.prune(now)
    let best: HeardCall | undefined
    for (const h of this.calls) {
      if (h.claim !== undefined || !matches(h.call)) continue
      if (best === undefined || h.call.priority > best.call.priority) best = h
    }
    return best
  }

  private prune(now: number): void {
    let keep = 0
    for (const h of this.calls) {
      if (!h.settled && now - h.heardAt < this.openMs) this.calls[keep++] = h
      else this.forget(h)
    }
    this.calls.length = keep
  }

  private forget(h: HeardCall): void {
    if (this.byKey.get(h.claimKey) === h) this.byKey.delete(h.claimKey)
  }
}

/**
 * Where the winners' reports of a marketplace's offers come: one subscription `<inbox>.*`, each
 * offer's reply subject `<inbox>.<token>` routed by token. A subscription per offer was a SUB
 * and an UNSUB a task, and each changed the server's interest (its subject cache starts again).
 */
export class OfferReports {
  private readonly routes = new Map<string, (m: Msg) => void>()
  private sub: Subscription | undefined
  private base = ""
  private seq = 0
  private stopped = false

  constructor(private readonly nc: NatsConnection) {}

  /** A reply subject whose reports go to `onReport` until `close`. */
  open(onReport: (m: Msg) => void): string {
    if (this.sub === undefined) {
      const inbox = createInbox()
      this.base = `${inbox}.`
      this.sub = this.nc.subscribe(`${inbox}.*`, { callback: (_e, m) => this.routes.get(m.subject)?.(m) })
    }
    const subject = this.base + (++this.seq).toString(36)
    this.routes.set(subject, onReport)
    return subject
  }

  close(subject: string): void {
    this.routes.delete(subject)
    this.release()
  }

  /** The subscription goes with the last offer still waiting (now if none). */
  stop(): void {
    this.stopped = true
    this.release()
  }

  private release(): void {
    if (!this.stopped || this.routes.size > 0) return
    this.sub?.unsubscribe()
    this.sub = undefined
  }
}
