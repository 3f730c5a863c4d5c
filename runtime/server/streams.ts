/**
 * The one way the runtime sets up a JetStream stream it needs: create it when it is absent,
 * whichever node comes first (a node that loses the race finds it made). A stream that exists
 * is kept as it is, never updated: an operator may have tuned it (replicas, limits, age) and a
 * node starting must not undo that. The result says which happened, so callers can tell.
 */
import { nanos } from "@nats-io/nats-core"
import type { JetStreamManager, RetentionPolicy, StorageType, StreamConfig } from "@nats-io/jetstream"

/** What the streams of one feature share (durable mail, tasks): storage, replicas, age, duplicate window. */
export interface StreamFamily {
  readonly storage: StorageType
  readonly replicas: number
  readonly maxAgeMs: number
  readonly duplicateWindowMs: number
}

export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<"created" | "kept"> {
  try {
    await jsm.streams.info(config.name)
    return "kept"
  } catch {
    // not found: create it below
  }
  try {
    await jsm.streams.add(config)
    return "created"
  } catch (e) {
    // another node created it in between; anything else is the add's own error
    await jsm.streams.info(config.name).catch(() => {
      throw e
    })
    return "kept"
  }
}

/** `ensureStream` for one stream of a family: its name, subjects and retention, with `extra` settings of its own. */
export function ensureFamilyStream(
  jsm: JetStreamManager,
  family: StreamFamily,
  name: string,
  subjects: ReadonlyArray<string>,
  retention: RetentionPolicy,
  extra: Partial<StreamConfig> = {},
): Promise<"created" | "kept"> {
  return ensureStream(jsm, {
    name,
    subjects: [...subjects],
    retention,
    storage: family.storage,
    num_replicas: family.replicas,
    max_age: nanos(family.maxAgeMs),
    duplicate_window: nanos(family.duplicateWindowMs),
    ...extra,
  })
}
