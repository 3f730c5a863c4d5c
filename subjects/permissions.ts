/**
 * Who may publish and subscribe to what: the permission sets of ANTS's three kinds of principal,
 * as nats-server `permissions` blocks (the wire contract's access side). Pure code: `ants auth
 * init` renders these into a server configuration, the tests check them against a real server.
 *
 *   tenant <t>   its own space and nothing else:
 *                publish   ants.<t>.>  (agents, topics, tasks, durable mail; not ants.<t>.audit.>,
 *                          whose receipts only the runtime writes), ants._part.*.<t>.> (the
 *                          server checks publish permissions after the partition mapping),
 *                          task status requests and scheduled tasks of <t>, its own pheromone
 *                          and workspace keys ($KV.<bucket>.<t>.>) with exactly the JetStream
 *                          API calls that name them (direct get by subject, consumers whose key
 *                          filter is in the create subject, stream info, consumer delete, flow
 *                          control)
 *                          governance, read-only: its approval queue (list, show), its audit
 *                          stream (an ordered read: stream info, consumer create, next, delete)
 *                          and the published audit keys (to verify it)
 *                subscribe ants.<t>.> , its lifecycle and supervisor events, the decisions on its
 *                          approval requests, and its own reply inboxes _INBOX_<t>.> (tenant
 *                          clients connect with that inbox prefix)
 *                Never: another tenant's subjects, keys or streams, actor state (ants_state),
 *                dead letters, node control (ants._sys.node.>), `>`; nor deciding or
 *                delegating an approval, reading or setting a policy, or announcing an audit
 *                notice: those are an operator's (a tenant's agents act through its principal, so an agent
 *                could otherwise approve its own action or relax its own policy).
 *   node         what a runtime node needs: the whole ants.> space, the runtime's KV and
 *                JetStream API ($KV.>, $JS.>), its own inboxes, and answers to any request it
 *                receives (allow_responses), including tenants' _INBOX_<t> replies, and the
 *                server's connection listing of its own account ($SYS.REQ.ACCOUNT.PING.CONNZ: is
 *                a silent member's connection gone?). No other $SYS subject, nor subjects of
 *                other applications sharing the server.
 *   operator     what the `ants` command line needs: the same spaces as a node (it inspects
 *                nodes, resets supervisors, manages dead letters and pheromones of any tenant),
 *                without answering other principals' requests.
 */
import { PARTITIONS, ROOT, token } from "./grammar.ts"
import { AUDIT_KEYS_BUCKET, approvalsSubject, auditStreamName } from "./governance.ts"
import { PHEROMONE_BUCKET, WORKSPACE_BUCKET } from "./pheromones.ts"
import { ACCOUNT_CONNZ_SUBJECT } from "./cluster.ts"

/** A nats-server permissions block. */
export interface Permissions {
  readonly publish: { readonly allow: ReadonlyArray<string>; readonly deny?: ReadonlyArray<string> }
  readonly subscribe: { readonly allow: ReadonlyArray<string>; readonly deny?: ReadonlyArray<string> }
  /** Lets the principal answer any request it received (one reply each). */
  readonly allowResponses?: boolean
}

/** The reply-inbox prefix of a tenant's connections (`connect({ inboxPrefix })`). */
export function tenantInboxPrefix(tenant: string): string {
  return `_INBOX_${token("tenant", tenant)}`
}

/** The KV buckets whose keys begin with the tenant, so a tenant principal may use its own keys. */
export const TENANT_KEYED_BUCKETS: ReadonlyArray<string> = [PHEROMONE_BUCKET, WORKSPACE_BUCKET]

export function tenantPermissions(tenant: string): Permissions {
  const t = token("tenant", tenant)
  const kv = TENANT_KEYED_BUCKETS.flatMap((b) => [
    `$KV.${b}.${t}.>`,
    `$JS.API.STREAM.INFO.KV_${b}`,
    `$JS.API.DIRECT.GET.KV_${b}.$KV.${b}.${t}.>`,
    `$JS.API.CONSUMER.CREATE.KV_${b}.*.$KV.${b}.${t}.>`,
    `$JS.API.CONSUMER.DELETE.KV_${b}.*`,
    `$JS.FC.KV_${b}.>`,
  ])
  const audit = auditStreamName(t)
  const governance = [
    approvalsSubject(t, "list"),
    approvalsSubject(t, "show"),
    `$JS.API.STREAM.INFO.${audit}`,
    `$JS.API.CONSUMER.CREATE.${audit}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${audit}.*`,
    `$JS.API.CONSUMER.DELETE.${audit}.*`,
    `$JS.API.STREAM.INFO.KV_${AUDIT_KEYS_BUCKET}`,
    `$JS.API.DIRECT.GET.KV_${AUDIT_KEYS_BUCKET}.>`,
    `$JS.API.STREAM.MSG.GET.KV_${AUDIT_KEYS_BUCKET}`,
    `$JS.API.CONSUMER.CREATE.KV_${AUDIT_KEYS_BUCKET}.>`,
    `$JS.API.CONSUMER.INFO.KV_${AUDIT_KEYS_BUCKET}.*`,
    `$JS.API.CONSUMER.DELETE.KV_${AUDIT_KEYS_BUCKET}.*`,
    `$JS.FC.KV_${AUDIT_KEYS_BUCKET}.>`,
  ]
  return {
    publish: {
      allow: [
        `${ROOT}.${t}.>`,
        `${ROOT}._part.*.${t}.>`,
        `${ROOT}._sys.tasks.${t}.status.*`,
        `${ROOT}._sys.tasks.${t}.sched.>`,
        ...kv,
        ...governance,
      ],
      deny: [`${ROOT}.${t}.audit.>`],
    },
    subscribe: {
      allow: [`${ROOT}.${t}.>`, `${ROOT}._sys.lifecycle.${t}.>`, `${ROOT}._sys.supervisor.${t}.>`, `${ROOT}._sys.approvals.${t}.decided.*`, `${tenantInboxPrefix(t)}.>`],
    },
  }
}

/** Subjects of the runtime's whole space: its own, its KV buckets and the JetStream API. */
const RUNTIME_SPACE: ReadonlyArray<string> = [`${ROOT}.>`, "$KV.>", "$JS.>", "_INBOX.>"]

export function nodePermissions(): Permissions {
  return { publish: { allow: [...RUNTIME_SPACE, ACCOUNT_CONNZ_SUBJECT] }, subscribe: { allow: [`${ROOT}.>`, "_INBOX.>"] }, allowResponses: true }
}

export function operatorPermissions(): Permissions {
  return { publish: { allow: RUNTIME_SPACE }, subscribe: { allow: [`${ROOT}.>`, "_INBOX.>"] } }
}

/**
 * The server's partition mapping (DESIGN.md §3) as a `mappings` entry: the agent subject and
 * the partitioned subject it becomes.
 */
export const PARTITION_MAPPING: { readonly from: string; readonly to: string } = {
  from: `${ROOT}.*.agent.*.*.*`,
  to: `${ROOT}._part.{{partition(${PARTITIONS},2,3)}}.$1.$2.$3.$4`,
}
