/**
 * Layer `coordination`: multi-agent coordination on the actor, task and stigmergy layers.
 * Consensus rounds (votes, the agreement matrix and score, a decision at a threshold or an
 * escalation to a human), collective response (a danger signal recruits k capable agents by
 * severity, who share findings through an incident artifact), durable sagas (steps with
 * compensations, resumable after the coordinator crashes) and the hand-off, fan-out/fan-in and
 * iterative-refinement patterns.
 *
 * Promises: what agents do (fail, answer late or malformed, refuse) is counted and recorded,
 * never thrown; bad input is a `CoordinationError` before anything is asked or written; rounds,
 * incidents and saga journals are workspace artifacts (tenant-scoped, revision-checked,
 * readable by any client); receipts and escalations go through optional ports (`record`,
 * `escalate`) whose failures never stop the work.
 * May import: subjects/, runtime/agent (messaging types), runtime/stigmergy (workspace,
 * pheromones), runtime/tasks (capability ballots, task fan-out), runtime/governance (receipts
 * and approvals behind the ports).
 */
export { canonical, decide, majorityOf, sameAnswer, tally } from "./agreement.ts"
export type { Agreement, Ballot, DecisionReason, DecisionRule, Tally } from "./agreement.ts"
export { DEFAULT_MIN_CONFIDENCE, DEFAULT_THRESHOLD, DEFAULT_VOTE_DEADLINE_MS, MAX_VOTERS, askerOf, getConsensusRound, runConsensus } from "./consensus.ts"
export type { Asking, ConsensusDeps, ConsensusStores, ConsensusResult, ConsensusSpec, VoteOutcome, VoteRecord, Voters } from "./consensus.ts"
export { CoordinationError } from "./ports.ts"
export type { CoordinationErrorCode, EscalatePort, EscalationRequest, Ports, RecordPort } from "./ports.ts"
export { updateArtifact } from "./artifact-update.ts"
export { asIncident, getIncident, resolveIncident, shareFinding } from "./incident.ts"
export type { Finding, Incident, Recruit } from "./incident.ts"
export { DEFAULT_ACCEPT_TIMEOUT_MS, DEFAULT_K_BY_SEVERITY, DEFAULT_MIN_SEVERITY, kForSeverity, startCollectiveResponse } from "./collective-response.ts"
export type { CollectiveResponse, CollectiveResponseDeps, CollectiveResponseSpec, SeverityBand } from "./collective-response.ts"
export { defineSaga, sagaRunner } from "./saga.ts"
export type { SagaDefinition, SagaDeps, SagaOutcome, SagaRunner, SagaRunnerOptions, SagaStep, SagaStepContext } from "./saga.ts"
export type { SagaJournal, SagaStatus, StepEntry, StepState } from "./saga-journal.ts"
export { fanOut, fanOutAsks, fanOutTasks, handOff, refine, refineWithAgents } from "./patterns.ts"
export type { BranchResult, FanIn, FanOutOptions, HandOffLeg, HandOffStage, Participant, Refined, RefineSpec, Review } from "./patterns.ts"
export { consensusAgent, outcomeOf } from "./consensus-agent.ts"
export { CONSENSUS_AGENT, ConsensusOutcome, ConsensusRun, RecruitReply, RecruitRequest, VoteReply, VoteRequest } from "../../subjects/coordination.ts"
export { RecruiterStatus, defineRecruiter } from "./recruiter-agent.ts"
export { approvalSeverity, escalateToApprovals } from "./escalation.ts"
export type { ApprovalEscalationOptions, ApprovalQueue, ApprovalSeverity } from "./escalation.ts"
