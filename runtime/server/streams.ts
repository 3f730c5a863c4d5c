/**
 * The one way the runtime sets up a JetStream stream it needs: create it when it is absent,
 * whichever node comes first (a node that loses the race finds it made). A stream that exists
 * is kept as it is, never updated: an operator may have tuned it (replicas, limits, age) and a
 * node starting must not undo that. The result says which happened, so callers can tell.
 */
import type { JetStreamManager, StreamConfig } from "@nats-io/jetstream"

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
