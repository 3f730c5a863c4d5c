/**
 * A tenant's most recently updated tasks, read from the status records in KV
 * (`ants_task_status`, one record per task): every task the tenant has, whoever submitted it
 * (a node, the CLI, a gateway, a schedule), not only those one client remembers. One consumer
 * delivers the last record of each of the tenant's keys; the newest `limit` by `updatedAt` are
 * kept. At most `scanMax` records are read, so a tenant with a very long history costs a bounded
 * read (the answer then says it was truncated).
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { DEFAULT_TENANT, token } from "../../subjects/grammar.ts"
import { bucketStream, kvSubject } from "../../subjects/jetstream.ts"
import { KV_OPERATION_HEADER } from "../../subjects/pheromones.ts"
import { TASK_STATUS_BUCKET, decodeTaskRecord, tenantTaskStatusKeys, type TaskRecord } from "../../subjects/tasks.ts"
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
  const stream = bucketStream(TASK_STATUS_BUCKET)
  const filter = kvSubject(TASK_STATUS_BUCKET, tenantTaskStatusKeys(tenant))
  const info = await (await jetstreamManager(nc)).streams.info(stream, { subjects_filter: filter })
  const total = Object.keys(info.state.subjects ?? {}).length
  if (total === 0) return { tasks: [], total: 0, truncated: false }
  const want = Math.min(total, scanMax)
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject })
  const kept: TaskRecord[] = []
  let seen = 0
  try {
    while (seen < want) {
      const batch = await consumer.fetch({ max_messages: Math.min(want - seen, 1_000), expires: 5_000 })
      let got = 0
      for await (const m of batch) {
        got++
        seen++
        const op = m.headers?.get(KV_OPERATION_HEADER)
        if (op !== "DEL" && op !== "PURGE" && m.data.length > 0) {
          let parsed: unknown
          try {
            parsed = m.json()
          } catch {
            parsed = undefined // not a record: skipped, the rest still read
          }
          const r = decodeTaskRecord(parsed)
          if (r._tag === "Right") kept.push(r.right)
        }
        if (m.info.pending === 0) seen = want
      }
      if (got === 0) break
    }
  } finally {
    await consumer.delete().catch(() => undefined)
  }
  kept.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
  return { tasks: kept.slice(0, limit), total, truncated: total > scanMax }
}
