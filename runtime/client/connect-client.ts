/**
 * A client for code that is not an actor: connects to NATS and offers typed refs and untyped
 * ask/tell/publish bound to a tenant. Any other NATS client works too (see the README).
 */
import type { NatsConnection } from "@nats-io/nats-core"
import type { Messaging } from "../agent/actor-context.ts"
import { createMessaging, publishTopic } from "./messaging.ts"
import { connectNats } from "./connect-nats.ts"
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { tenantInboxPrefix } from "../../subjects/permissions.ts"
import type { Credentials } from "../security/connection-options.ts"

export interface ConnectClientOptions {
  /** NATS URL(s), comma-separated. Default `NATS_URL`, else nats://127.0.0.1:4222. */
  readonly nats?: string
  /**
   * How to authenticate (user/password, token, creds or nkey seed file, TLS files). Credentials
   * in the `nats` URL and the `nats` CLI's environment variables (NATS_USER, NATS_PASSWORD,
   * NATS_TOKEN, NATS_CREDS, NATS_NKEY, NATS_CERT, NATS_KEY, NATS_CA) work too.
   */
  readonly credentials?: Credentials
  /** Reply-inbox prefix; a tenant principal needs its own (`_INBOX_<tenant>`, the default when `tenant` is set and this is left out). */
  readonly inboxPrefix?: string
  readonly tenant?: string
  readonly timeoutMs?: number
}

export interface AntsClient extends Messaging {
  readonly nc: NatsConnection
  readonly tenant: string
  publish(topic: string, data: unknown): void
  close(): Promise<void>
}

export async function connectClient(options: ConnectClientOptions = {}): Promise<AntsClient> {
  const servers = options.nats || process.env.NATS_URL || "nats://127.0.0.1:4222"
  const tenant = options.tenant ?? DEFAULT_TENANT
  // a tenant principal may receive replies only on its own inboxes; the default tenant keeps _INBOX
  const inboxPrefix = options.inboxPrefix ?? (options.tenant && options.tenant !== DEFAULT_TENANT ? tenantInboxPrefix(options.tenant) : undefined)
  const nc = await connectNats(servers, "ants-client", options.credentials, inboxPrefix ? { inboxPrefix } : {})
  const messaging = createMessaging(nc, { tenant, timeoutMs: options.timeoutMs })
  return {
    ...messaging,
    nc,
    tenant,
    publish: (topic, data) => publishTopic(nc, tenant, topic, data),
    close: async () => {
      await nc.drain()
    },
  }
}
