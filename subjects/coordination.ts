/**
 * The wire contract of coordination (runtime/coordination): where consensus rounds, incidents
 * of a collective response and saga journals live, and the messages agents receive from it.
 *
 * Everything is kept in the workspace bucket (`ants_workspace`, key `<tenant>.<artifact...>`),
 * so it is tenant-scoped like any artifact, readable by any NATS client, and watchable by
 * status (a reviewer type may declare interest in `escalated` rounds):
 *
 *   <tenant>.consensus.<round>    kind `consensus`  status voting | decided | escalated
 *   <tenant>.incidents.<location...>.<trail>  kind `incident`   status responding | resolved
 *   <tenant>.sagas.<id>           kind `saga`       status running | compensating | completed | compensated | failed
 *
 * Messages an agent answers when it takes part (declare the tag in its protocol with these
 * Schemas): a voter's `Vote` (VoteRequest → VoteReply), a responder's `Respond`
 * (RecruitRequest → RecruitReply).
 */
import * as Schema from "effect/Schema"
import { path, token } from "./grammar.ts"

export const CONSENSUS_PREFIX = "consensus"
export const INCIDENT_PREFIX = "incidents"
export const SAGA_PREFIX = "sagas"

/** The artifact id of a consensus round. */
export function consensusArtifactId(round: string): string {
  return `${CONSENSUS_PREFIX}.${token("id", round)}`
}

/** The artifact id of an incident: one per signal, named by the trail's location and id. */
export function incidentArtifactId(location: string, trailId: string): string {
  return `${INCIDENT_PREFIX}.${path("id", location).join(".")}.${token("id", trailId)}`
}

/** The artifact id of a saga's journal. */
export function sagaArtifactId(saga: string): string {
  return `${SAGA_PREFIX}.${token("id", saga)}`
}

/** Audit receipt kinds written by coordination (`ants.<tenant>.audit.<kind>` when wired to the audit). */
export const COORDINATION_RECEIPTS = {
  vote: "consensus_vote",
  decision: "consensus_decision",
  recruit: "response_recruit",
  saga: "saga_step",
} as const

/** What a voter is asked. `options`, when given, lists the admissible answers. */
export const VoteRequest = Schema.Struct({
  round: Schema.String,
  question: Schema.String,
  options: Schema.optional(Schema.Array(Schema.String)),
  context: Schema.optional(Schema.Unknown),
  deadline: Schema.Number,
})
export type VoteRequest = typeof VoteRequest.Type

/** A voter's answer: any JSON value, with a confidence in [0, 1] (default 1) and a rationale. */
export const VoteReply = Schema.Struct({
  answer: Schema.Unknown,
  confidence: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
  rationale: Schema.optional(Schema.String),
})
export type VoteReply = typeof VoteReply.Type

/** What a recruited responder receives: the incident artifact to work on, and the signal behind it. */
export const RecruitRequest = Schema.Struct({
  incident: Schema.String,
  severity: Schema.Number,
  k: Schema.Number,
  type: Schema.String,
  location: Schema.String,
  trail: Schema.String,
  data: Schema.optional(Schema.Unknown),
})
export type RecruitRequest = typeof RecruitRequest.Type

/** A responder's answer: whether it took the job (a refusal makes the recruiter ask the next candidate). */
export const RecruitReply = Schema.Struct({
  accepted: Schema.Boolean,
  note: Schema.optional(Schema.String),
})
export type RecruitReply = typeof RecruitReply.Type

/** The type name of the consensus coordinator agent (`consensusAgent`): `ants.<tenant>.agent.consensus.<round>.Run`. */
export const CONSENSUS_AGENT = "consensus"

/** `Run`: the round is the actor's id. Voters are one agent type and its ids. */
export const ConsensusRun = Schema.Struct({
  question: Schema.String,
  voters: Schema.Struct({ agent: Schema.String, ids: Schema.Array(Schema.String) }),
  options: Schema.optional(Schema.Array(Schema.String)),
  context: Schema.optional(Schema.Unknown),
  tag: Schema.optional(Schema.String),
  deadlineMs: Schema.optional(Schema.Number),
  lateGraceMs: Schema.optional(Schema.Number),
  threshold: Schema.optional(Schema.Number),
  minConfidence: Schema.optional(Schema.Number),
  quorum: Schema.optional(Schema.Number),
  severity: Schema.optional(Schema.Number),
})
export type ConsensusRun = typeof ConsensusRun.Type

export const VoteEntry = Schema.Struct({
  voter: Schema.String,
  outcome: Schema.Literal("vote", "missing", "late", "error", "invalid"),
  answer: Schema.optional(Schema.Unknown),
  confidence: Schema.optional(Schema.Number),
  rationale: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  ms: Schema.optional(Schema.Number),
})

/** What `Run` and `Get` answer: the round as decided (or escalated). */
export const ConsensusOutcome = Schema.Struct({
  round: Schema.String,
  artifact: Schema.String,
  status: Schema.String,
  answer: Schema.optional(Schema.Unknown),
  score: Schema.Number,
  confidence: Schema.Number,
  threshold: Schema.Number,
  reason: Schema.optional(Schema.String),
  counts: Schema.Struct({ asked: Schema.Number, valid: Schema.Number, missing: Schema.Number, errors: Schema.Number, invalid: Schema.Number }),
  votes: Schema.Array(VoteEntry),
  matrixVoters: Schema.Array(Schema.String),
  matrix: Schema.Array(Schema.Array(Schema.Number)),
})
export type ConsensusOutcome = typeof ConsensusOutcome.Type
