/**
 * The sending half of durable mail: one JetStream publish to the actor's mail subject, de-duplicated
 * by message id (`<tenant>.<id>`). The stream and its delivery to actors belong to the cluster (cluster/durable-mail.ts);
 * a caller needs only this.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { jetstream } from "@nats-io/jetstream"
import { tenantMsgId, type AgentSubjectParts } from "../../subjects/grammar.ts"
import { mailSubject } from "../../subjects/cluster.ts"
import type { DurableTellResult } from "../agent/actor-context.ts"

/** Publishes a durable tell (JetStream; the stream must exist: a node creates it at start). */
export async function publishDurable(nc: NatsConnection, parts: AgentSubjectParts, body: Uint8Array, msgId: string): Promise<DurableTellResult> {
  // scoped by tenant: the mail stream is shared by every tenant and de-duplicates across it
  const ack = await jetstream(nc).publish(mailSubject(parts), body, { msgID: tenantMsgId(parts.tenant, msgId) })
  return { seq: ack.seq, duplicate: ack.duplicate }
}
