/**
 * The declaration of `ants schedules`: every schedule the running nodes declare, with its next
 * firing, missed-firing policy, auto-sleep and last firing. Pure data, like commands.ts, which
 * lists it among the commands.
 */
import { defineCommand } from "./command-spec.ts"
import { clientOptions } from "./credentials-spec.ts"
import { duration, text } from "./option.ts"

export const SCHEDULES = defineCommand({
  name: "schedules",
  summary: "every schedule the nodes run: next firing, missed-firing policy, auto-sleep, last run",
  args: {
    args: "",
    min: 0,
    max: 0,
    summary:
      "Every node answers a broadcast with the schedules of the types it hosts; one line per schedule (type, name, cron and time zone, the actor it wakes, the next firing on the nodes' clock, the policy for firings missed while no node ran the type, the auto-sleep after a firing, and the last firing handled anywhere with what became of it: delivered, caught_up or skipped). Exit 1 when no node answered.",
  },
  options: {
    type: text("<type>", "only this agent type").defaultIs("every type"),
    ...clientOptions(),
    timeout: duration("<ms>", "how long to gather answers").withDefault(1000),
  },
  examples: ["npx ants schedules", "npx ants schedules --type counter --json"],
  connects: true,
})
