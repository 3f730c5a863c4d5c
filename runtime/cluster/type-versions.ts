/**
 * Versions of agent types across the swarm. Each node advertises the version of every type it
 * hosts (above 1) in its membership entry; ownership of a type's actors goes to the up nodes
 * running its highest version only. While a rolling upgrade has two versions side by side the
 * newer serves every actor of the type and older nodes hand theirs over, so an actor migrated
 * by new code is never met by older code again; a rollback is either a newer version or the
 * older one declaring downgrades (runtime/agent/versioning.ts).
 */
import type { Member, MemberRecord } from "./member-record.ts"
import { ownerOf } from "./rendezvous.ts"

/** The version of `type` a member runs (1 when its entry names none). */
export function versionOf(record: Pick<MemberRecord, "versions">, type: string): number {
  return record.versions?.[type] ?? 1
}

/** Members that own partitions for `type`: up (not leaving), hosting the type, and running its highest version among them. */
export function ownersAmong(members: ReadonlyMap<string, Member>, type: string): string[] {
  let out: string[] = []
  let top = 0
  for (const [id, m] of members) {
    if (m.record.state !== "up" || !m.record.types.includes(type)) continue
    const v = versionOf(m.record, type)
    if (v > top) {
      top = v
      out = []
    }
    if (v === top) out.push(id)
  }
  return out
}

/** Up members hosting `type` at `version` or later (where state that version wrote can run); a leaving one takes nothing new. */
export function runningAtLeast(members: ReadonlyMap<string, Member>, type: string, version: number): string[] {
  const out: string[] = []
  for (const [id, m] of members) if (m.record.state === "up" && m.record.types.includes(type) && versionOf(m.record, type) >= version) out.push(id)
  return out
}

/** For a StateVersionError: the up node other than `me` (rendezvous winner among them) that runs the state's version or later. */
export function newerHolder(members: ReadonlyMap<string, Member>, me: string, type: string, part: number, error: unknown): string | undefined {
  const e = error as { _tag?: string; stateVersion?: unknown }
  if (e?._tag !== "StateVersionError" || typeof e.stateVersion !== "number") return undefined
  return ownerOf(part, runningAtLeast(members, type, e.stateVersion).filter((n) => n !== me))
}
