/**
 * KV bucket names and key layouts of the runtime (part of the wire contract: a plain NATS
 * client may read them). Keys are dotted subject tokens, so a prefix read of one tenant or
 * type is a subject filter.
 *
 *   ants_state     <tenant>.<type>.<id>       actor checkpoints {"v":1,"state":…,"at":…,"node":…,"w":…,"acct":…}
 *   ants_schedules <type>.<schedule>.<epochMs>  claim of one firing of a cron schedule (first node wins), kept 24 h
 */
import { token, type ActorAddress } from "./grammar.ts"

export const STATE_BUCKET = "ants_state"

export function stateKey(a: ActorAddress): string {
  return `${token("tenant", a.tenant)}.${token("type", a.type)}.${token("id", a.id)}`
}

/** The keys of every actor state of a tenant (a key filter). */
export function tenantStateKeys(tenant: string): string {
  return `${token("tenant", tenant)}.>`
}

export const SCHEDULE_BUCKET = "ants_schedules"

/** One firing of a schedule; created once across the swarm, so a firing is delivered once. */
export function scheduleClaimKey(type: string, schedule: string, fireAtMs: number): string {
  return `${token("type", type)}.${token("token", schedule)}.${Math.floor(fireAtMs)}`
}
