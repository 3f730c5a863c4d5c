/**
 * `forager`: an agent that finds its work through pheromones (stigmergy), not through messages
 * naming the work. `Forage {area, capabilities}` follows the strongest live `task` trail under
 * `area` that asks for one of `capabilities` (`data.capability`), skipping locations with a
 * live `danger` trail (swarm rules 1 and 2, `followStrongest`). It takes the trail by
 * evaporating it: the evaporation is revision-checked, so of several foragers racing for one
 * trail exactly one gets `true` and the others look again. The winner records the finished work
 * in the shared workspace (artifact `<location>`, kind `forage`, status `done`) and deposits
 * `success` at `area` with its capability as the pattern (rule 3, `depositSuccess`), which
 * reinforces the trail other foragers left for the same pattern. `Stats` tells how much work
 * this forager did. `npx ants demo` runs a few of them (step 6).
 */
import * as Schema from "effect/Schema"
import { defineAgent, Empty } from "../../runtime/agent/define-agent.ts"
import { depositSuccess, followStrongest, requiredCapabilities } from "../../runtime/stigmergy/swarm-rules.ts"
import { locationValue } from "../../subjects/pheromones.ts"

/** How many trails one Forage tries to take before giving up when others keep taking them first. */
export const MAX_TAKE_ATTEMPTS = 8

const Location = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      locationValue(s)
      return true
    } catch (e) {
      return (e as Error).message
    }
  }),
)
const Capability = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))

const Took = Schema.Struct({
  location: Schema.String,
  capability: Schema.String,
  /** The task trail's strength when deposited, and as the forager read it (decayed). */
  deposited: Schema.Number,
  read: Schema.Number,
  ageMs: Schema.Number,
  /** The success trail's reinforcement count after this forager's deposit. */
  successReinforcements: Schema.Number,
})

export const forager = defineAgent({
  type: "forager",
  protocol: {
    Forage: {
      message: Schema.Struct({ area: Location, capabilities: Schema.Array(Capability).pipe(Schema.maxItems(32)) }),
      reply: Schema.Struct({ took: Schema.NullOr(Took), lostRaces: Schema.Number }),
      description: "Takes the strongest safe task trail under area matching a capability, records it done, deposits success.",
    },
    Stats: { message: Empty, reply: Schema.Struct({ done: Schema.Number, locations: Schema.Array(Schema.String) }), description: "Work done so far." },
  },
  initialState: () => ({ done: 0, locations: [] as string[] }),
  handlers: {
    Forage: async ({ area, capabilities }, ctx) => {
      let lostRaces = 0
      for (let attempt = 0; attempt < MAX_TAKE_ATTEMPTS; attempt++) {
        const trail = await followStrongest(ctx.pheromones, { capabilities, location: area })
        if (!trail) return { took: null, lostRaces }
        if (!(await ctx.pheromones.evaporate(trail.key))) {
          lostRaces++ // another forager took it between our read and our take
          continue
        }
        const capability = requiredCapabilities(trail).find((c) => capabilities.includes(c)) ?? "any"
        await ctx.workspace.create({ id: trail.location, kind: "forage", status: "done", data: { by: ctx.self.id, capability, task: trail.data } })
        const success = await depositSuccess(ctx.pheromones, { location: area, pattern: capability, data: { lastBy: ctx.self.id } })
        ctx.state.done++
        ctx.state.locations = [...ctx.state.locations, trail.location]
        return {
          took: { location: trail.location, capability, deposited: trail.strength, read: trail.current, ageMs: trail.ageMs, successReinforcements: success.reinforcements },
          lostRaces,
        }
      }
      return { took: null, lostRaces }
    },
    Stats: (_m, ctx) => ({ done: ctx.state.done, locations: ctx.state.locations }),
  },
})
