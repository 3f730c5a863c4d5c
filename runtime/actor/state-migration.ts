/**
 * State migration on activation. A checkpoint records the version of the agent type that wrote
 * it (state-store.ts, `tv`); an activation compares it with the version this node runs:
 * - the same: the state is used as stored;
 * - older: the type's `migrations` run in order (`migrations[j]`, `migrations[j+1]`, …), the
 *   result is checked against `stateSchema` when the type declares one, and the migrated state
 *   is written back (fenced by the revision just read) before the first message runs, so the
 *   store never holds a state older than the code that last activated it;
 * - newer: when the type declares `downgrades` down to its version (a rollback), they run in
 *   order, are checked and written back like migrations; otherwise the activation is refused
 *   with `StateVersionError`: a node never runs old code on state a newer version wrote, and
 *   never downgrades it silently. The stored state is left untouched. The cluster forwards the
 *   refused actor's messages to a live node running the newer version (cluster.ts); with none,
 *   the caller gets `unavailable` (retry once the upgrade or rollback has finished).
 * A migration that throws, a missing step or a Schema failure refuses the activation with
 * `StateMigrationError` and leaves the stored state as it was.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { TaggedError } from "../../subjects/errors.ts"
import type { ActorAddress } from "../../subjects/grammar.ts"
import type { AgentDefinition } from "../agent/define-agent.ts"
import { newestReadable, typeVersion } from "../agent/versioning.ts"
import type { Checkpoint, StateStore } from "./state-store.ts"

/** State written by a newer version of the type than the one this node runs. */
export class StateVersionError extends TaggedError("StateVersionError") {
  constructor(
    readonly actor: string,
    readonly stateVersion: number,
    readonly nodeVersion: number,
    readonly node: string,
  ) {
    super(
      `${actor}'s state was written by version ${stateVersion} of its type; node ${node} runs version ${nodeVersion} and does not run older code on newer state. ` +
        `Finish the upgrade (run version ${stateVersion} or later here), or roll back by releasing version ${stateVersion + 1} with a migration from ${stateVersion}, or version ${nodeVersion} with downgrades from ${stateVersion}`,
    )
  }
}

/** A migration step failed, is missing, or produced state its Schema refuses. */
export class StateMigrationError extends TaggedError("StateMigrationError") {}

/** What migrating a stored checkpoint gave: the state to run and the checkpoint's revision after the write-back. */
export interface Migrated {
  readonly state: unknown
  readonly revision: number
  /** The version the stored state had (equal to the type's when nothing ran). */
  readonly from: number
}

/** Runs the steps from `from` to the definition's version (pure but for the steps themselves); throws StateMigrationError. */
export async function runMigrations(def: AgentDefinition, actor: string, from: number, state: unknown): Promise<unknown> {
  const to = typeVersion(def)
  const down = from > to
  let s = state
  for (let k = from; k !== to; k += down ? -1 : 1) {
    const step = down ? def.downgrades?.[k] : def.migrations?.[k]
    const next = down ? k - 1 : k + 1
    if (step === undefined) {
      throw new StateMigrationError(`${actor}: state of version ${from} cannot reach version ${to}: type "${def.type}" declares no ${down ? "downgrade" : "migration"} from version ${k} (${down ? "downgrades" : "migrations"}[${k}])`)
    }
    try {
      s = await step(structuredClone(s))
    } catch (e) {
      throw new StateMigrationError(`${actor}: ${down ? "downgrade" : "migration"} of type "${def.type}" from version ${k} to ${next} threw: ${(e as Error)?.message ?? String(e)}`, { cause: e })
    }
  }
  if (def.stateSchema !== undefined) {
    const r = Schema.decodeUnknownEither(def.stateSchema)(s)
    if (Either.isLeft(r)) {
      throw new StateMigrationError(`${actor}: state migrated from version ${from} to ${to} does not fit the stateSchema of "${def.type}": ${ParseResult.TreeFormatter.formatErrorSync(r.left)}`)
    }
  }
  return s
}

/**
 * The state an activation runs from a stored checkpoint: as stored, migrated and written back,
 * or refused (StateVersionError, StateMigrationError). `nodeId` names this node in the refusal.
 */
export async function migrateOnActivation(def: AgentDefinition, store: StateStore, address: ActorAddress, cp: Checkpoint, nodeId: string): Promise<Migrated> {
  const version = typeVersion(def)
  const actor = `${address.type}/${address.id}${address.tenant === "default" ? "" : ` (tenant ${address.tenant})`}`
  if (cp.version === version) return { state: cp.state, revision: cp.revision, from: version }
  if (cp.version > newestReadable(def)) throw new StateVersionError(actor, cp.version, version, nodeId)
  const state = await runMigrations(def, actor, cp.version, cp.state)
  // stored at once, fenced by the revision read: an older node can no longer mistake it for its own
  const revision = await store.save(address, JSON.stringify(state ?? null), cp.revision, cp.acct)
  return { state, revision, from: cp.version }
}
