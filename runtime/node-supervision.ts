/**
 * Wires the supervision tree of `supervisors/` into a node (OTP: every node has a root
 * supervisor; each hosted agent type sits under it as a `type` child whose actor instances are
 * supervised one by one). The tree decides; this module carries its decisions out with NATS:
 * every decision is published on `ants._sys.supervisor.<tenant>.<type>.<id>`, a type that gives
 * up answers `unavailable` on this node, and a root that gives up makes every type unavailable
 * while the node stays up.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { supervisorSubject } from "../subjects/grammar.ts"
import { actorSupervisor, defaultNodeTree, eventAddress, SupervisionTree, type NodeTreeOverrides, type TypePolicyInput } from "../supervisors/mod.ts"
import type { AgentDefinition } from "./define-agent.ts"
import type { Supervisor } from "./supervision.ts"

const encoder = new TextEncoder()

export interface NodeSupervision extends Supervisor {
  readonly tree: SupervisionTree
}

export interface NodeSupervisionOptions {
  readonly nodeId: string
  readonly nc: NatsConnection
  readonly agents: ReadonlyArray<AgentDefinition<any, any>>
  readonly overrides?: NodeTreeOverrides
  readonly log: (level: "info" | "warn" | "error", message: string) => void
  /** A type child was stopped by its supervisor (gave up) or restarted by it. */
  readonly onTypeDown: (type: string, reason: string) => void
  readonly onTypeUp: (type: string) => void
}

export function createNodeSupervision(o: NodeSupervisionOptions): NodeSupervision {
  const types: Record<string, TypePolicyInput> = { ...o.overrides?.types }
  for (const def of o.agents) {
    const policy = def.supervision as TypePolicyInput | undefined
    if (policy) types[def.type] = { ...policy, ...types[def.type] }
  }
  const typeNames = new Set(o.agents.map((a) => a.type))
  const spec = defaultNodeTree([...typeNames], { ...o.overrides, types })
  const tree: SupervisionTree = new SupervisionTree(
    spec,
    {
      restartChild(path) {
        const type = path[path.length - 1]
        if (path.length === 1 && typeNames.has(type)) o.onTypeUp(type)
      },
      stopChild(path) {
        const type = path[path.length - 1]
        if (path.length === 1 && typeNames.has(type)) {
          const status = tree.typeStatus(type)
          o.onTypeDown(type, status === "available" ? "stopped by its supervisor" : status.reason)
        }
      },
      publish(event, target) {
        try {
          o.nc.publish(supervisorSubject(eventAddress(target)), encoder.encode(JSON.stringify(event)))
        } catch (e) {
          o.log("warn", `could not publish a supervisor decision: ${(e as Error).message}`)
        }
      },
      now: () => Date.now(),
      random: () => Math.random(),
      onRootGaveUp(reason) {
        o.log("error", `the root supervisor of node ${o.nodeId} gave up (${reason}): every agent type is unavailable on this node until it is reset`)
        for (const type of typeNames) o.onTypeDown(type, `root supervisor gave up: ${reason}`)
      },
      onError(error, where) {
        o.log("error", `supervision callback ${where} failed: ${(error as Error)?.message ?? error}`)
      },
    },
    { node: o.nodeId },
  )
  return { tree, ...actorSupervisor(tree) }
}
