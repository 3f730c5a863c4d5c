/**
 * What a node's task handlers and its marketplace act through: the tenant scope of the task's
 * tenant (node/tenant-scopes.ts), as for actors. With an auth folder that is the tenant's own
 * connection, so a task handler that reaches past its context's API meets the server's
 * permission error; the node's own connection (full permissions) is never handed to it. The
 * queue machinery itself (pulling, acking, status records, dead letters) stays on the node's
 * connection: it is runtime code, and it writes records a tenant may not forge.
 */
import type { Target } from "../agent/actor-context.ts"
import type { AgentTaskContext, TaskContext } from "../agent/task-options.ts"
import type { TenantScope, TenantScopes } from "../actor/tenant-scope.ts"
import { AskError, publishTopic } from "../client/messaging.ts"
import type { Pheromones } from "../stigmergy/mod.ts"
import type { TenantTasks } from "../tasks/node-tasks.ts"

/** Opens the tenant's scope for its task handlers; rejects (TenantScopeError) when this node does not serve the tenant. */
export async function openTenantTasks(scopes: TenantScopes, tenant: string): Promise<TenantTasks> {
  const scope = await scopes.open(tenant)
  return {
    context: (base, emitter, signal) => taskContext(base, scope, emitter, signal),
    pheromones: (emitter) => scope.stigmergy().pheromones(tenant, emitter),
  }
}

function taskContext(base: TaskContext, scope: TenantScope, emitter: string, signal: AbortSignal): AgentTaskContext {
  const tenant = base.tenant
  const own = (target: Target): Target => {
    if (target.tenant !== undefined && target.tenant !== tenant) {
      throw new AskError("forbidden", `task ${base.id} (${base.capability}) of tenant "${tenant}" may not address tenant "${target.tenant}"`)
    }
    return { ...target, tenant }
  }
  let pheromones: Pheromones | undefined
  const ctx: AgentTaskContext = {
    ...base,
    ask: (target, tag, message, options) => {
      try {
        return scope.messaging.ask(own(target), tag, message, options)
      } catch (e) {
        return Promise.reject(e)
      }
    },
    tell: (target, tag, message) => scope.messaging.tell(own(target), tag, message),
    publish: (topic, data) => publishTopic(scope.nc, tenant, topic, data),
    get pheromones() {
      return (pheromones ??= scope.stigmergy().pheromones(tenant, emitter, signal))
    },
  }
  // Deliberately reachable, as an actor's (`ctx.scope`): a handler that reaches past the API with
  // it can do no more than its tenant's principal may; the server refuses the rest.
  Object.defineProperty(ctx, "scope", { value: scope, enumerable: false })
  return ctx
}
