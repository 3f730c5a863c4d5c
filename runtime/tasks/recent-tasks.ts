/**
 * A tenant's most recently updated tasks, read from the status records in KV
 * (`ants_task_status`, one record per task): every task the tenant has, whoever submitted it
 * (a node, the CLI, a gateway, a schedule), not only those one client remembers. One consumer
 * delivers the last record of each of the tenant's keys; the newest `limit` by `updatedAt` are
 * kept. At most `scanMax` records are read, so a tenant with a very long history costs a bounded
 * read (the answer then says it was truncated). A submitted task has no record until a worker
 * takes it (status-lookup.ts), so the tenant's waiting tasks are read from the task stream too,
 * oldest first, at most `waitingMax` (one direct get each; and within `scanMax` with the
 * records), and those without a record listed as `pending`.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { DEFAULT_TENANT, token } from "../../subjects/grammar.ts"
import { bucketStream, kvSubject } from "../../subjects/jetstream.ts"
import { TASK_STATUS_BUCKET, decodeTaskRecord, tenantTaskStatusKeys, type TaskRecord } from "../../subjects/tasks.ts"
import { readLastPerSubject } from "../server/last-per-subject.ts"
import { ensureTaskStreams } from "./streams.ts"
import { pendingRecord, readWaitingTasks } from "./status-lookup.ts"

export interface RecentTasks {
  /** Newest update first. */
  readonly tasks: TaskRecord[]
  /** The tenant's status records (tasks known, whatever their state), plus the waiting tasks read that have none yet. */
  readonly total: number
  /** More records than `scanMax`: the newest of those read, not of all. */
  readonly truncated: boolean
}

export async function recentTasks(nc: NatsConnection, opts: { tenant?: string; limit?: number; scanMax?: number; waitingMax?: number } = {}): Promise<RecentTasks> {
  const tenant = token("tenant", opts.tenant ?? DEFAULT_TENANT)
  const limit = opts.limit ?? 50
  const scanMax = opts.scanMax ?? 10_000
  const { jsm } = await ensureTaskStreams(nc)
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
  const known = new Set(kept.map((r) => r.id))
  let waiting = 0
  const more = await readWaitingTasks(jsm, tenant, Math.min(opts.waitingMax ?? 1_000, scanMax - Math.min(total, scanMax)), (m, id) => {
    if (known.has(id)) return true
    known.add(id)
    kept.push(pendingRecord(m, tenant, id))
    waiting++
    return true
  })
  kept.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
  return { tasks: kept.slice(0, limit), total: total + waiting, truncated: total > scanMax || more }
}
