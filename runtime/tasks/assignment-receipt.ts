/**
 * The receipt of a marketplace assignment, for the audit: which agent took which attempt of
 * which task, and why (its bid's score and the parts of it, `bidScore`).
 */

/** Why the winner won: its bid's score and the parts of it. */
export interface BidReason {
  readonly score: number
  readonly capabilityMatch: number
  readonly load: number
  readonly successRate: number
  readonly strength: number
}

/** The receipt of one assignment: which agent took which attempt of which task, and why. */
export interface AssignmentReceipt {
  readonly task: string
  readonly capability: string
  readonly attempt: number
  readonly resubmits: number
  readonly priority: number
  readonly agent: string
  readonly why: BidReason | { readonly score?: undefined; readonly reason: string }
}

/** The receipt of a claim: the bid's reason, or a note that the bidder gave none. */
export function assignmentReceipt(
  ctx: { readonly id: string; readonly capability: string; readonly attempt: number; readonly resubmits?: number; readonly priority: number },
  agent: string,
  bid: BidReason | undefined,
): AssignmentReceipt {
  return { task: ctx.id, capability: ctx.capability, attempt: ctx.attempt, resubmits: ctx.resubmits ?? 0, priority: ctx.priority, agent, why: bid ?? { reason: "claimed first (the bidder gave no score)" } }
}
