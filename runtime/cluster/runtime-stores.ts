/**
 * The buckets and streams a node creates: the cluster's own (membership, leases, durable mail)
 * and the rest (`runtimeStores`), with the replicas it asks for each: what the start-up guarantees (guarantees.ts) list
 * as replicated or not. The cluster reads each one's real replicas from the server at start.
 */
import { LEASES_BUCKET, MAIL_DEAD_STREAM, MAIL_STREAM, MEMBERS_BUCKET } from "../../subjects/cluster.ts"
import { SCHEDULE_BUCKET, STATE_BUCKET } from "../../subjects/kv.ts"
import { PHEROMONE_BUCKET, WORKSPACE_BUCKET } from "../../subjects/pheromones.ts"
import { TASK_CLAIMS_BUCKET, TASK_STATUS_BUCKET, TASKS_DLQ_STREAM, TASKS_SCHEDULE_STREAM, TASKS_STREAM } from "../../subjects/tasks.ts"
import type { StoreReplicas } from "./guarantees.ts"

export interface RuntimeStoreChoice {
  /** Replicas of actor state, schedules and everything that does not say otherwise. */
  readonly replicas: number
  /** Some hosted type has cron schedules (bucket ants_schedules). */
  readonly schedules: boolean
  /** The node runs a task engine (task streams and buckets), with these replicas; undefined: none. */
  readonly tasks: number | undefined
  /** Replicas of the pheromone and workspace buckets. */
  readonly pheromones: number
}

const kv = (name: string, replicas: number): StoreReplicas => ({ name, kind: "kv", replicas })
const stream = (name: string, replicas: number): StoreReplicas => ({ name, kind: "stream", replicas })

/** The cluster's own: membership and leases, and the durable mail streams when this node delivers mail. */
export function clusterStores(replicas: number, mail: boolean): StoreReplicas[] {
  return [kv(MEMBERS_BUCKET, replicas), kv(LEASES_BUCKET, replicas), ...(mail ? [stream(MAIL_STREAM, replicas), stream(MAIL_DEAD_STREAM, replicas)] : [])]
}

export function runtimeStores(c: RuntimeStoreChoice): StoreReplicas[] {
  return [
    kv(STATE_BUCKET, c.replicas),
    ...(c.schedules ? [kv(SCHEDULE_BUCKET, c.replicas)] : []),
    kv(PHEROMONE_BUCKET, c.pheromones),
    kv(WORKSPACE_BUCKET, c.pheromones),
    ...(c.tasks !== undefined
      ? [stream(TASKS_STREAM, c.tasks), stream(TASKS_SCHEDULE_STREAM, c.tasks), stream(TASKS_DLQ_STREAM, c.tasks), kv(TASK_STATUS_BUCKET, c.tasks), kv(TASK_CLAIMS_BUCKET, c.tasks)]
      : []),
  ]
}
