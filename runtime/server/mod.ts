/**
 * Layer `server`: nats-server as a process. Finds the binary, starts one (or a loopback
 * cluster of three) on free ports with a temporary store, watches it with a watchdog that
 * kills it if its parent dies, reads what a running server can do (version, features), and
 * creates the JetStream streams the runtime needs (`ensureStream`). Also the few requests the
 * runtime makes below nats.js's request objects, on one reply inbox per connection
 * (`requestReply`, `storedPublish`): asks, stored writes and reads of the hot paths. An ask
 * that finds no responders on an agent subject sends an unserved hint (`hintUnserved`), so the
 * swarm checks at once whether the node that served it crashed.
 *
 * Promises: a server started here is stopped by `stop()` or, at the latest, when the process
 * that started it exits; a missing binary is a `NatsServerError` with an install hint.
 * May import: nothing in the repository (node built-ins only).
 */
export {
  INSTALL_HINT,
  NatsServerError,
  PROJECT_CLUSTER_DIR,
  PROJECT_NATS_BASE_CONF,
  PROJECT_NATS_CONF,
  clusterConfigFor,
  findNatsServer,
  freePort,
  natsServerVersion,
  startNatsCluster,
  startNatsServer,
} from "./nats-server.ts"
export type { NatsCluster, NatsServer, NatsServerOptions } from "./nats-server.ts"
export { ensureFamilyStream, ensureStream } from "./streams.ts"
export type { StreamFamily } from "./streams.ts"
export { parseVersion, serverFeatures, versionAtLeast } from "./server-features.ts"
export type { PheromoneServerFeatures } from "./server-features.ts"
export { requestReply } from "./reply-inbox.ts"
export { HINT_GAP_MS, hintUnserved } from "./unserved-hint.ts"
export { StoreError, storedPublish } from "./stored-publish.ts"
export type { StoredAck, StoreOptions } from "./stored-publish.ts"
