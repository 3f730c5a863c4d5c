/**
 * Lifecycle events of actors, collected from `ants._sys.lifecycle.<tenant>.<type>.<id>` as any
 * client sees them: `states(id)` lists the `to` states of one actor in order.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { lifecycleWildcard } from "../../subjects/grammar.ts"

export interface LifecycleLog {
  readonly events: Array<{ id: string; from: string; to: string; node: string; reason?: string }>
  states(id: string): string[]
  /** The state of an actor after its last event (undefined: none yet). */
  last(id: string): string | undefined
  stop(): void
}

export async function watchLifecycleOf(nc: NatsConnection, tenant: string, type: string): Promise<LifecycleLog> {
  const dec = new TextDecoder()
  const events: LifecycleLog["events"] = []
  const sub = nc.subscribe(lifecycleWildcard(tenant, type), {
    callback: (_e, m) => void events.push({ id: m.subject.split(".").pop()!, ...JSON.parse(dec.decode(m.data)) }),
  })
  await nc.flush()
  const states = (id: string) => events.filter((e) => e.id === id).map((e) => e.to)
  return { events, states, last: (id) => states(id).at(-1), stop: () => sub.unsubscribe() }
}
