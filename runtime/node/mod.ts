/**
 * Layer `node`: the composition root. `startNode` connects (or embeds a server), opens the
 * stores, builds one host per agent type, wires the cluster, tasks, stigmergy and supervision
 * layers together, serves the inspection endpoints and drains on stop. It holds no message
 * handling of its own.
 *
 * Promises: a started node answers every message it accepts (or rejects it with a counted,
 * recorded error); `stop()` drains before it closes.
 * May import: every runtime layer below it (actor, agent, client, cluster, server, stigmergy,
 * tasks, memory, limits, cpu, observability), subjects/, supervisors/. Never imports runtime/cli.
 */
export { NODE_DEFAULTS, defaultLogger, startNode } from "./node.ts"
export type { AntsNode, LogLevel, Logger, NodeModelsOptions, NodeOptions, NodeStats, RejectedRecord } from "./node.ts"
export { createNodeSupervision } from "./node-supervision.ts"
export type { NodeSupervision, NodeSupervisionOptions, ResetTarget, SupervisionView } from "./node-supervision.ts"
