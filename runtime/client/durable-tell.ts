/**
 * The sending half of durable mail: one JetStream publish to the actor's mail subject, de-duplicated
 * by message id. The stream and its delivery to actors belong to the cluster (cluster/durable-mail.ts);
 * a caller needs only this.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { jetstream } from "@nats-io/jetstream"
import type { AgentSubjectParts } from "../../subjects/grammar.ts"
import { mailSubject } from "../../subjects/cluster.ts"
import type { DurableTellResult } from "../agent/actor-context.ts"

/** Publishes a durable tell (JetStream; the stream must exist: a node creates it at start). */
export async function publishDurable(nc: NatsConnection, parts: AgentSubjectParts, body: Uint8Array, msgId: string): Promise<DurableTellResult> {
  const ack = await jetstream(nc).publish(mailSubject(parts), body, { msgID: msgId })
  return { seq: ack.seq, duplicate: ack.duplicate }
}
