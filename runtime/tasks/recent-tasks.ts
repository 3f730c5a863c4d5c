/**
 * A tenant's most recently updated tasks, read from the status records in KV
 * (`ants_task_status`, one record per task): every task the tenant has, whoever submitted it
 * (a node, the CLI, a gateway, a schedule), not only those one client remembers. One consumer
 * delivers the last record of each of the tenant's keys; the newest `limit` by `updatedAt` are
 * kept. At most `scanMax` records are read, so a tenant with a very long history costs a bounded
 * read (the answer then says it was truncated).
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { DEFAULT_TENANT, token } from "../../subjects/grammar.ts"
import { bucketStream, kvSubject } from "../../subjects/jetstream.ts"
import { TASK_STATUS_BUCKET, decodeTaskRecord, tenantTaskStatusKeys, type TaskRecord } from "../../subjects/tasks.ts"
import { readLastPerSubject } from "../server/last-per-subject.ts"
import { ensureTaskStreams } from "./streams.ts"

export interface RecentTasks {
  /** Newest update first. */
  readonly tasks: TaskRecord[]
  /** The tenant's status records (tasks known, whatever their state). */
  readonly total: number
  /** More records than `scanMax`: the newest of those read, not of all. */
  readonly truncated: boolean
}

export async function recentTasks(nc: NatsConnection, opts: { tenant?: string; limit?: number; scanMax?: number } = {}): Promise<RecentTasks> {
  const tenant = token("tenant", opts.tenant ?? DEFAULT_TENANT)
  const limit = opts.limit ?? 50
  const scanMax = opts.scanMax ?? 10_000
  await ensureTaskStreams(nc)
  const kept: TaskRecord[] = []
  const total = await readLastPerSubject(nc, bucketStream(TASK_STATUS_BUCKET), kvSubject(TASK_STATUS_BUCKET, tenantTaskStatusKeys(tenant)), { max: scanMax, batch: 1_000 }, (m) => {
    if (m.data.length === 0) return
    let parsed: unknown
    try {
      parsed = m.json()
    } catch {
      return // not a record: skipped, the rest still read
    }
    const r = decodeTaskRecord(parsed)
    if (r._tag === "Right") kept.push(r.right)
  })
  kept.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
  return { tasks: kept.slice(0, limit), total, truncated: total > scanMax }
}
