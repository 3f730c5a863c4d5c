/**
 * The services a node gives its agents beside the engine, opened together at start and closed
 * together at drain: the models (`ctx.model`, runtime/models) and the tool registry
 * (runtime/tools: its bucket and its subjects, answered for the tenants the node serves, with
 * the tenancy's admission so a suspended tenant is refused), over the node's sandbox
 * (runtime/sandbox: `ctx.sandbox`, sandboxed agent types and registry tools; isolated-vm is
 * loaded at its first run). The sandbox is not closed with the others: handlers may still run
 * in it then; the node closes it once its actors have settled.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { openModels, type ModelGate, type Models, type ToolGate } from "../models/mod.ts"
// the registry alone: the layer's mod.ts also carries MCP, whose SDK a node loads only when MCP is used
import { startTools, type NodeTools } from "../tools/start-tools.ts"
import { createSandbox, type Sandbox } from "../sandbox/mod.ts"
import type { NodeOptions } from "./options.ts"

export interface AgentServices {
  readonly models?: Models
  readonly tools?: NodeTools
  readonly sandbox: Sandbox
  close(): void
}

export async function openAgentServices(
  nc: NatsConnection,
  options: Pick<NodeOptions, "models" | "tools" | "tenants" | "sandbox">,
  o: { readonly id: string; readonly replicas: number; readonly log: (level: "info" | "warn" | "error", message: string) => void; readonly admit: NonNullable<Parameters<typeof startTools>[1]["admit"]>; readonly gate?: ToolGate; readonly modelGate?: ModelGate },
): Promise<AgentServices> {
  const sandbox = createSandbox({ log: (level, message) => o.log(level === "debug" ? "info" : level, message), ...options.sandbox })
  const [models, tools] = await Promise.all([
    options.models === false ? undefined : openModels(nc, { ...options.models, nodeId: o.id, replicas: o.replicas, ...(o.gate ? { gate: o.gate } : {}), ...(o.modelGate ? { modelGate: o.modelGate } : {}) }),
    options.tools === false ? undefined : startTools(nc, { sandbox: options.tools?.sandbox ?? sandbox, replicas: o.replicas, log: o.log, tenants: options.tenants, admit: o.admit }),
  ])
  return {
    models,
    tools,
    sandbox,
    close() {
      models?.close()
      tools?.close()
    },
  }
}
