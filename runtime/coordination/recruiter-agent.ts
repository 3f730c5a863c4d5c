/**
 * The collective response as an agent type: `defineRecruiter(spec)` is an `always_on` type
 * whose actor (id `main`, activated when a node starts, one activation across the swarm) runs
 * `startCollectiveResponse` through its own context, so a node hosting it recruits responders
 * with no code of the operator's own. It serves the `default` tenant from the start; a message
 * to `ants.<tenant>.agent.<type>.main.Status` starts it in another tenant (always on, it then
 * stays). `Status` answers the incidents this activation formed.
 */
import * as Schema from "effect/Schema"
import { Empty, defineAgent, type ActorContext } from "../agent/mod.ts"
import { startCollectiveResponse, type CollectiveResponse, type CollectiveResponseSpec } from "./collective-response.ts"

const running = new Map<string, Promise<CollectiveResponse>>()
const keyOf = (ctx: ActorContext<unknown>) => `${ctx.node}/${ctx.self.tenant}/${ctx.self.type}/${ctx.self.id}`

export const RecruiterStatus = Schema.Struct({ incidents: Schema.Array(Schema.Struct({ incident: Schema.String, k: Schema.Number, recruited: Schema.Number, recruitMs: Schema.optional(Schema.Number) })) })

export function defineRecruiter(spec: CollectiveResponseSpec & { readonly type?: string }) {
  const start = (ctx: ActorContext<unknown>) => {
    const key = keyOf(ctx)
    let r = running.get(key)
    if (!r) {
      r = startCollectiveResponse(ctx, { ...spec, onError: spec.onError ?? ((e) => ctx.log("collective response: a signal was not handled", { error: String(e) })) })
      running.set(key, r)
      r.catch(() => running.delete(key))
    }
    return r
  }
  return defineAgent({
    type: spec.type ?? "recruiter",
    protocol: { Status: { message: Empty, reply: RecruiterStatus } },
    tier: "always_on",
    instances: ["main"],
    checkpoint: "never",
    onActivate: async (ctx) => void (await start(ctx)),
    onPassivate: async (ctx) => {
      const r = running.get(keyOf(ctx))
      running.delete(keyOf(ctx))
      await (await r?.catch(() => undefined))?.stop()
    },
    handlers: {
      Status: async (_m, ctx) => ({
        incidents: (await start(ctx)).formed().map((i) => ({ incident: i.incident, k: i.k, recruited: i.recruited.length, ...(i.recruitMs === undefined ? {} : { recruitMs: i.recruitMs }) })),
      }),
    },
  })
}
