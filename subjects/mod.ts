/** The wire contract: subjects, envelopes and system message schemas. Pure code. */
export {
  AGENT_WILDCARD,
  AGENT_WILDCARD_QUEUE,
  AGENT_WILDCARDS,
  DEFAULT_TENANT,
  PARTITIONS,
  ROOT,
  SubjectError,
  actorName,
  agentSubject,
  auditSubject,
  MAX_SUBJECT_LENGTH,
  MAX_TOKEN_LENGTH,
  bounded,
  isMappingProbe,
  isToken,
  lifecycleSubject,
  lifecycleWildcard,
  mappedProbePattern,
  mappingProbeSubject,
  nodeSubject,
  nodesBroadcastSubject,
  parseAgentSubject,
  parseInbound,
  parseTopicSubject,
  senderSubject,
  partitionQueue,
  partitionSubject,
  partitionSubscription,
  path,
  supervisorSubject,
  supervisorWildcard,
  taskSubject,
  tenantMsgId,
  token,
  unscopedMsgId,
  topicPattern,
  topicPatternAllTenants,
  topicSubject,
} from "./grammar.ts"
export type { ActorAddress, AgentSubjectParts, ParsedInbound, TokenKind } from "./grammar.ts"
export { INBOUND_MEMO_SIZE, actorKey, inboundMemoSize, parseActorKey, parseInboundOnce, parseRoutedOnce, toInbound } from "./inbound.ts"
export type { Inbound } from "./inbound.ts"
export { CodedError, ERROR_CODE_BY_TAG, TaggedError, errorCodeOf, hasTag, tagOf } from "./errors.ts"
export { STATE_BUCKET, stateKey, tenantStateKeys } from "./kv.ts"
export { JS_WRONG_LAST_SEQUENCE, bucketStream, consumerNextSubject, isWrongLastSequence, kvKeyOffset, kvSubject, parseAckSubject } from "./jetstream.ts"
export type { AckInfo } from "./jetstream.ts"
export {
  DIRECTIVES,
  Directive,
  ERROR_CODES,
  ErrEnvelope,
  ErrorBody,
  ErrorCode,
  LIFECYCLE_STATES,
  LifecycleEvent,
  LifecycleState,
  OkEnvelope,
  ReplyEnvelope,
  SupervisorEvent,
  decodeReply,
  encodeError,
  encodeOk,
} from "./envelope.ts"
export {
  ArtifactEntry,
  MAX_ARTIFACT_BYTES,
  MAX_DATA_BYTES,
  MAX_TTL_MS,
  PHEROMONE_BUCKET,
  PHEROMONE_MAX_AGE_MS,
  PHEROMONE_TYPES,
  PheromoneEntry,
  PheromoneError,
  STRENGTH_LEVELS,
  TYPE_DEFAULTS,
  WORKSPACE_BUCKET,
  artifactKey,
  isPheromoneError,
  parsePheromoneKey,
  pheromoneFilter,
  pheromoneKey,
} from "./pheromones.ts"
export type { ArtifactStatus, DecayCurve, PheromoneErrorCode, PheromoneType, StrengthLevel } from "./pheromones.ts"
export {
  HOPS_HEADER,
  LEASES_BUCKET,
  MAIL_CONSUMER,
  MAIL_DEAD_STREAM,
  MAIL_DEAD_STREAM_SUBJECTS,
  MAIL_STREAM,
  MAIL_STREAM_SUBJECTS,
  MEMBERS_BUCKET,
  NODES_ACTORS_SUBJECT,
  NODES_MEMBERS_SUBJECT,
  leaseKey,
  mailDeadSubject,
  mailSubject,
  memberKey,
  nodeActorsSubject,
  nodeMembersSubject,
  nodePingSubject,
  parseMailSubject,
  parseRouteSubject,
  routeSubject,
  routeSubscription,
} from "./cluster.ts"
export type { RoutedParts } from "./cluster.ts"
export {
  MODEL_COST_BUCKET,
  MODEL_STATS_BUCKET,
  TURNS_BUCKET,
  deploymentToken,
  modelCostFilter,
  modelCostKey,
  modelStatsKey,
  modelStreamSubject,
  parseDeploymentToken,
  parseModelStatsKey,
  parseTurnMetaKey,
  turnFilter,
  turnMetaFilter,
  turnMetaKey,
  turnStepKey,
} from "./models.ts"
export {
  COORDINATION_RECEIPTS,
  CONSENSUS_AGENT,
  CONSENSUS_PREFIX,
  ConsensusOutcome,
  ConsensusRun,
  VoteEntry,
  INCIDENT_PREFIX,
  RecruitReply,
  RecruitRequest,
  SAGA_PREFIX,
  VoteReply,
  VoteRequest,
  consensusArtifactId,
  incidentArtifactId,
  sagaArtifactId,
} from "./coordination.ts"
export {
  LOAD_ROOT,
  POOLS_BUCKET,
  POOL_ID,
  RESOURCE_POOLS_BUCKET,
  capabilityLoadLocation,
  capabilityOfLoadLocation,
  isPoolId,
  parsePoolKey,
  poolKey,
  poolMemberId,
  poolSubject,
  resourcePoolFilter,
  resourceSlotKey,
  typeLoadLocation,
} from "./elastic.ts"
export { TRACEPARENT_HEADER, TRACESTATE_HEADER, formatTraceParent, parseTraceParent } from "./trace-context.ts"
export type { TraceParent } from "./trace-context.ts"
export { TOOLS_BUCKET, TOOLS_QUEUE, TOOLS_WILDCARD, TOOL_NAME, TOOL_OPS, parseToolKey, parseToolsSubject, toolHeadKey, toolHeadsFilter, toolName, toolStatsKey, toolVersionKey, toolsSubject, toolsTenantWildcard } from "./tools.ts"
export type { ToolOp } from "./tools.ts"
export { APPROVALS_BUCKET, APPROVALS_REQUESTS_WILDCARD, APPROVAL_OPS, AUDIT_KEYS_BUCKET, POLICY_BUCKET, approvalDecidedSubject, approvalKey, approvalsFilter, approvalsSubject, auditKeyKey, auditStreamName, auditStreamSubjects, parseApprovalsSubject, parseAuditStreamName, parseLifecycleSubject, policyKey } from "./governance.ts"
export type { ApprovalOp } from "./governance.ts"
export { SCHEDULE_EVENTS, SCHEDULE_MARKS_BUCKET, decodeWakeRequest, parseWakeTypeSubject, scheduleEventSubject, scheduleMarkKey, typeStateKeys, wakeTypePatternAllTenants, wakeTypeSubject } from "./wake.ts"
export type { MissedFiringPolicy, WakeRequest, WakeTypeReply, WakeTypeRequest } from "./wake.ts"
export { LIFECYCLE_COST_BUCKET, lifecycleCostKey, parseLifecycleCostKey } from "./lifecycle-cost.ts"
