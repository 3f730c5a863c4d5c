/**
 * A capability's lanes: one durable pull consumer per priority 1..10 and one for sessions, on
 * the work-queue stream ANTS_TASKS. Their filters never overlap (exact subjects), which a
 * work-queue stream requires. Every worker of the capability shares them.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream"
import { nanos } from "@nats-io/nats-core"
import { PRIORITY_LANES, TASKS_STREAM, taskConsumerName, taskLaneFilter } from "../../subjects/tasks.ts"
import type { LaneRef } from "./lane-puller.ts"
import { DEFAULT_ACK_WAIT_MS } from "../agent/task-options.ts"

export interface Lane extends LaneRef {
  /** Not asked again before this time: it was empty. */
  emptyUntil: number
  /** Asks in a row that found it empty (the wait before the next grows with them). */
  emptyStreak: number
}

/** Lane order is 10 - priority (0 first); the session lane is asked right after priority 5. */
export const SESSION_ORDER = 5.5

/** Creates (or updates) the durable consumers of one capability's lanes. */
export async function ensureCapabilityLanes(
  jsm: JetStreamManager,
  tenant: string,
  capability: string,
  ackWaitMs = DEFAULT_ACK_WAIT_MS,
): Promise<Lane[]> {
  const specs: Array<{ lane: number | "session" }> = [...PRIORITY_LANES.map((p) => ({ lane: p as number | "session" })), { lane: "session" }]
  const lanes: Lane[] = []
  await Promise.all(
    specs.map(async ({ lane }) => {
      const name = taskConsumerName(tenant, capability, lane)
      const cfg = {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: taskLaneFilter(tenant, capability, lane),
        ack_wait: nanos(ackWaitMs),
        max_deliver: -1,
        max_ack_pending: -1,
        max_waiting: 4096,
      }
      try {
        await jsm.consumers.add(TASKS_STREAM, cfg)
      } catch {
        await jsm.consumers.update(TASKS_STREAM, name, { ack_wait: nanos(ackWaitMs), max_ack_pending: -1 })
      }
      lanes.push({
        order: lane === "session" ? SESSION_ORDER : 10 - lane,
        consumer: name,
        kind: lane === "session" ? "session" : "priority",
        priority: lane === "session" ? 5 : lane,
        emptyUntil: 0,
        emptyStreak: 0,
      })
    }),
  )
  return lanes.sort((a, b) => a.order - b.order)
}
