/**
 * Layer `client`: the caller API. Asks, tells, durable tells and topic publishes addressed by
 * agent type and id, typed through an agent's protocol when the caller has its definition;
 * `connectClient` for programs that are not nodes.
 *
 * Promises: an ask resolves with the decoded reply or rejects with an `AskError` whose `code`
 * is one of the envelope's error codes (or `timeout`, `no_responders`); nothing is retried
 * behind the caller's back.
 * May import: subjects/, runtime/agent, runtime/server (the reply inbox and stored reads below
 * nats.js's requests), runtime/observability (send spans, trace headers).
 * Never imports: runtime/actor, runtime/cluster, runtime/tasks, runtime/node, runtime/cli.
 */
export { AskError, DEFAULT_ASK_TIMEOUT_MS, askSubject, createMessaging, isAskError, publishTopic } from "./messaging.ts"
export type { ClientOptions } from "./messaging.ts"
export { connectClient } from "./connect-client.ts"
export type { AntsClient, ConnectClientOptions } from "./connect-client.ts"
export { connectNats } from "./connect-nats.ts"
export { publishDurable } from "./durable-tell.ts"
