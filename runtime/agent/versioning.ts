/**
 * Versions of an agent type's state. A type declares `version` (a positive integer, default 1)
 * and, for state stored by older versions, `migrations`: `migrations[k]` turns state of version
 * `k` into state of version `k + 1`, so state of any version `j` reaches the current one by
 * running `migrations[j]`, `migrations[j+1]`, … in order. A `stateSchema`, when given, checks
 * the state a migration produced. The engine migrates on activation (runtime/actor/
 * state-migration.ts); this file holds the declaration and its checks, made once, when the type
 * is defined.
 *
 * Rolling back: either release the old behaviour as a newer version with a migration back (the
 * usual upgrade path), or redeploy the older version with `downgrades`: `downgrades[k]` turns
 * state of version `k` into state of version `k - 1`, so the older code reads what the newer
 * one wrote (stored back at the older version). Without them an older node refuses newer state.
 */
import * as Schema from "effect/Schema"

/** One step: state of version k in, state of version k + 1 out (may be async). */
export type StateMigration = (state: any) => unknown

export interface VersionOptions {
  /** The version of this type's state (positive integer). Default 1. Checkpoints record it. */
  readonly version?: number
  /**
   * Up-migrations by the version they start from: `{ 1: (s) => v2, 2: (s) => v3 }` for a type
   * at version 3. State stored by version j activates here after `migrations[j]` … `migrations[version-1]`.
   */
  readonly migrations?: Readonly<Record<number, StateMigration>>
  /**
   * Down-migrations by the newer version they start from: `{ 2: (s) => v1 }` for a type at
   * version 1 rolled back from version 2. State stored by version j > version activates here
   * after `downgrades[j]` … `downgrades[version+1]` (a rolling rollback fails no ask).
   */
  readonly downgrades?: Readonly<Record<number, StateMigration>>
  /** The Schema of the current state; checked after a migration (a failure refuses the activation). */
  readonly stateSchema?: Schema.Schema<any, any, never>
}

/** The version a definition runs (1 when it declares none). */
export function typeVersion(def: Pick<VersionOptions, "version">): number {
  return def.version ?? 1
}

/** Why a versioning declaration is wrong, or undefined when it is right. */
export function versioningProblem(spec: VersionOptions): string | undefined {
  const v = spec.version
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) return `version must be a positive integer, got ${JSON.stringify(v)}`
  const version = v ?? 1
  const steps = Object.keys(spec.migrations ?? {})
  for (const k of steps) {
    const from = Number(k)
    if (!Number.isInteger(from) || from < 1 || from >= version) {
      return `migrations[${k}]: a migration starts from an older version, 1 to ${version - 1} (version is ${version})`
    }
    if (typeof spec.migrations![from] !== "function") return `migrations[${k}] must be a function (state) => state of version ${from + 1}`
  }
  // the chain from the oldest declared step to the current version has no hole
  const oldest = Math.min(...steps.map(Number))
  for (let k = oldest; k < version && steps.length > 0; k++) {
    if (spec.migrations![k] === undefined) return `migrations[${k}] is missing: state of version ${oldest} cannot reach version ${version} (declare ${k} → ${k + 1})`
  }
  const downs = Object.keys(spec.downgrades ?? {})
  for (const k of downs) {
    const from = Number(k)
    if (!Number.isInteger(from) || from <= version) return `downgrades[${k}]: a downgrade starts from a newer version than ${version} (version is ${version})`
    if (typeof spec.downgrades![from] !== "function") return `downgrades[${k}] must be a function (state) => state of version ${from - 1}`
  }
  const newest = Math.max(...downs.map(Number))
  for (let k = newest; k > version && downs.length > 0; k--) {
    if (spec.downgrades![k] === undefined) return `downgrades[${k}] is missing: state of version ${newest} cannot come down to version ${version} (declare ${k} → ${k - 1})`
  }
  if (spec.stateSchema !== undefined && !Schema.isSchema(spec.stateSchema)) return "stateSchema must be an effect Schema"
  return undefined
}

/** The oldest version whose state this definition can activate (its own version when it declares no migration). */
export function oldestMigratable(def: Pick<VersionOptions, "version" | "migrations">): number {
  const version = typeVersion(def)
  let k = version
  while (k > 1 && def.migrations?.[k - 1] !== undefined) k--
  return k
}

/** The newest version whose state this definition can activate (its own version when it declares no downgrade). */
export function newestReadable(def: Pick<VersionOptions, "version" | "downgrades">): number {
  let k = typeVersion(def)
  while (def.downgrades?.[k + 1] !== undefined) k++
  return k
}
