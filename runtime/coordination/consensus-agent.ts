/**
 * The consensus coordinator as an agent type (the runtime's own use of `defineAgent`): host
 * `consensusAgent` on a node and any NATS client, in any language, runs a round with a request
 * to `ants.<tenant>.agent.consensus.<round>.Run` (ConsensusRun → ConsensusOutcome) and reads it
 * back with `Get`. The actor's id is the round's id, so rounds run side by side, one actor each.
 *
 * Promises: a round runs once: `Run` on a round that has decided (or escalated) answers its
 * stored outcome without asking anyone again; a round cut short while voting (its node died)
 * is refused with a message saying to start a new round. Inside a node there is no escalate or
 * record port: an escalated round is the artifact `consensus.<round>` in status `escalated`,
 * which a reviewer type can declare interest in.
 */
import * as Schema from "effect/Schema"
import { CONSENSUS_AGENT, ConsensusOutcome, ConsensusRun, consensusArtifactId } from "../../subjects/coordination.ts"
import { Empty, defineAgent } from "../agent/mod.ts"
import type { Workspace } from "../stigmergy/mod.ts"
import { runConsensus, type ConsensusResult } from "./consensus.ts"
import { CoordinationError } from "./ports.ts"

/** The wire shape of a result (what `Run` answers). */
export function outcomeOf(r: Omit<ConsensusResult, "tenant" | "escalation" | "recordFailures" | "startedAt" | "decidedAt" | "question">): ConsensusOutcome {
  return {
    round: r.round,
    artifact: r.artifact,
    status: r.status,
    ...(r.answer === undefined ? {} : { answer: r.answer }),
    score: r.score,
    confidence: r.confidence,
    threshold: r.threshold,
    ...(r.reason === undefined ? {} : { reason: r.reason }),
    counts: r.counts,
    votes: r.votes,
    matrixVoters: r.matrixVoters,
    matrix: r.matrix,
  }
}

/** The stored round as an outcome; `voting` when it has not decided; undefined when there is none. */
async function stored(ws: Workspace, round: string): Promise<ConsensusOutcome | "voting" | undefined> {
  const a = await ws.get(consensusArtifactId(round))
  if (!a) return undefined
  if (a.status === "voting") return "voting"
  const d = a.data as Omit<ConsensusResult, "round" | "artifact" | "status">
  return outcomeOf({ ...d, round, artifact: a.id, status: a.status as ConsensusResult["status"] })
}

export const consensusAgent = defineAgent({
  type: CONSENSUS_AGENT,
  protocol: {
    Run: { message: ConsensusRun, reply: ConsensusOutcome },
    Get: { message: Empty, reply: Schema.NullOr(ConsensusOutcome) },
  },
  checkpoint: "never",
  // a round lasts its deadline; the default handler time (30 s) would cut long ones short
  handlerTimeoutMs: 10 * 60_000,
  handlers: {
    Run: async (spec, ctx) => {
      const before = await stored(ctx.workspace, ctx.self.id)
      if (before === "voting") throw new CoordinationError("failed", `round ${ctx.self.id} was cut short while voting (its coordinator stopped): start a new round`)
      if (before) return before
      return outcomeOf(await runConsensus(ctx, { ...spec, round: ctx.self.id }))
    },
    Get: async (_m, ctx) => {
      const r = await stored(ctx.workspace, ctx.self.id)
      return r === "voting" || r === undefined ? null : r
    },
  },
})
