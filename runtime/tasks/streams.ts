/**
 * Creates (idempotently) the streams and buckets the task engine lives in:
 *
 *   ANTS_TASKS           work queue, ants.*.task.>: every submitted task until a worker acks it
 *   ANTS_TASKS_SCHEDULE  work queue, ants._sys.tasks.*.sched.>: tasks waiting for notBefore
 *   ANTS_TASKS_DLQ       limits, ants._sys.tasks.*.dlq.>: dead letters, one subject per task id
 *   KV ants_task_status  one status record per task (history 1)
 *   KV ants_task_claims  marketplace claims (create-if-absent)
 *
 * All keep messages 14 days (the seed's message TTL) unless configured otherwise. The task
 * streams de-duplicate on `Nats-Msg-Id` within `duplicateWindowMs` (default 15 minutes).
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream"
import { Kvm, type KV } from "@nats-io/kv"
import { retrying } from "../../supervisors/backoff.ts"
import { ensureFamilyStream, type StreamFamily } from "../server/streams.ts"
import {
  TASK_CLAIMS_BUCKET,
  TASK_STATUS_BUCKET,
  TASKS_DLQ_STREAM,
  TASKS_DLQ_SUBJECTS,
  TASKS_SCHEDULE_STREAM,
  TASKS_SCHEDULE_SUBJECTS,
  TASKS_STREAM,
  taskTenantFilter,
  TASKS_STREAM_SUBJECTS,
} from "../../subjects/tasks.ts"

export const DEFAULT_TASK_TTL_MS = 14 * 24 * 3600_000
export const DEFAULT_DUPLICATE_WINDOW_MS = 15 * 60_000

export interface TaskStreamOptions {
  /** How long tasks, dead letters and status records are kept. Default 14 days. */
  readonly ttlMs?: number
  /** `Nats-Msg-Id` de-duplication window. Default 15 minutes. */
  readonly duplicateWindowMs?: number
  /** Replicas (3 in a production cluster). Default 1. */
  readonly replicas?: number
  readonly storage?: "file" | "memory"
}

export interface TaskStores {
  readonly jsm: JetStreamManager
  readonly status: KV
  readonly claims: KV
}

const cache = new WeakMap<NatsConnection, Promise<TaskStores>>()

/** Ensures every stream and bucket exists; cached per connection. */
export function ensureTaskStreams(nc: NatsConnection, opts: TaskStreamOptions = {}): Promise<TaskStores> {
  let p = cache.get(nc)
  if (!p) {
    p = create(nc, opts)
    cache.set(nc, p)
    p.catch(() => cache.delete(nc))
  }
  return p
}

async function create(nc: NatsConnection, opts: TaskStreamOptions): Promise<TaskStores> {
  const jsm = await jetstreamManager(nc)
  const storage = opts.storage === "memory" ? StorageType.Memory : StorageType.File
  const replicas = opts.replicas ?? 1
  const family: StreamFamily = { storage, replicas, maxAgeMs: opts.ttlMs ?? DEFAULT_TASK_TTL_MS, duplicateWindowMs: opts.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS }
  await ensureFamilyStream(jsm, family, TASKS_STREAM, TASKS_STREAM_SUBJECTS, RetentionPolicy.Workqueue, { allow_direct: true })
  await ensureFamilyStream(jsm, family, TASKS_SCHEDULE_STREAM, TASKS_SCHEDULE_SUBJECTS, RetentionPolicy.Workqueue)
  await ensureFamilyStream(jsm, family, TASKS_DLQ_STREAM, TASKS_DLQ_SUBJECTS, RetentionPolicy.Limits, { max_msgs_per_subject: 1, allow_direct: true })
  const kvm = new Kvm(nc)
  // retried while JetStream settles (nodes of a cluster starting together create these at once)
  const status = await retrying(() => kvm.create(TASK_STATUS_BUCKET, { history: 1, ttl: opts.ttlMs ?? DEFAULT_TASK_TTL_MS, replicas, storage }), 20_000)
  const claims = await retrying(() => kvm.create(TASK_CLAIMS_BUCKET, { history: 1, ttl: opts.ttlMs ?? DEFAULT_TASK_TTL_MS, replicas, storage }), 20_000)
  return { jsm, status, claims }
}

/** Tasks of `tenant` waiting in the task stream (every lane and capability), for its backlog quota. */
export async function taskBacklog(nc: NatsConnection, tenant: string): Promise<number> {
  const jsm = await jetstreamManager(nc)
  // subjects_filter narrows the per-subject counts, not state.messages
  const info = await jsm.streams.info(TASKS_STREAM, { subjects_filter: taskTenantFilter(tenant) })
  return Object.values(info.state.subjects ?? {}).reduce((n, c) => n + c, 0)
}
