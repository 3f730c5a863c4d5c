/**
 * A node's tool registry: opens the bucket, builds the registry over the node's sandbox and
 * serves the registry's subjects. `startNode` calls it (option `tools`); anything else with a
 * runtime connection may too.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { createToolRegistry, type ToolRegistry, type ToolSandbox } from "./registry.ts"
import { serveTools, type ToolService, type ToolServiceOptions } from "./service.ts"
import { openToolStore, type ToolStore } from "./store.ts"

export interface NodeToolsOptions extends ToolServiceOptions {
  /** The sandbox tools run in; without one, runs are answered `unavailable`. */
  readonly sandbox?: ToolSandbox
  /** JetStream replicas of the bucket. Default 1. */
  readonly replicas?: number
}

export interface NodeTools {
  readonly registry: ToolRegistry
  readonly store: ToolStore
  readonly service: ToolService
  close(): void
}

export async function startTools(nc: NatsConnection, options: NodeToolsOptions): Promise<NodeTools> {
  const store = await openToolStore(nc, { replicas: options.replicas })
  const registry = createToolRegistry({ store, sandbox: options.sandbox })
  const service = serveTools(nc, registry, options)
  return {
    registry,
    store,
    service,
    close() {
      service.stop()
      store.close()
    },
  }
}
