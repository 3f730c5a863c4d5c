/**
 * nats-server versions with published vulnerabilities, and which of them apply to a version.
 * Pure: the node's ready banner and `ants nodes` name what applies to the server they found,
 * with the versions that fix it. The table is data; add a row when a new advisory is published.
 */

/** `major.minor.patch` of a version string ("v2.9.10", "2.10.27-beta"); zeros when unreadable. */
function parseVersion(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0]
}

function versionAtLeast(version: string, min: string): boolean {
  const a = parseVersion(version)
  const b = parseVersion(min)
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! > b[i]!
  return true
}

export interface ServerAdvisory {
  readonly id: string
  readonly summary: string
  /** First affected version. */
  readonly introducedIn: string
  /** The fixing release of each maintained line (major.minor), ascending. */
  readonly fixedIn: ReadonlyArray<string>
}

export const SERVER_ADVISORIES: ReadonlyArray<ServerAdvisory> = [
  {
    id: "CVE-2023-47090",
    summary: "authentication bypass: with no_auth_user configured, a client could connect without credentials to an account it should not reach",
    introducedIn: "2.2.0",
    fixedIn: ["2.9.23", "2.10.2"],
  },
  {
    id: "CVE-2025-30215",
    summary: "JetStream API: a user of one account could manage (update, delete, purge) streams and consumers of another account",
    introducedIn: "2.2.0",
    fixedIn: ["2.10.27", "2.11.1"],
  },
]

/** True when `version` carries the flaw: at or after its introduction and before the fix of its line. */
export function isAffected(version: string, a: ServerAdvisory): boolean {
  if (!versionAtLeast(version, a.introducedIn)) return false
  const [major, minor] = parseVersion(version)
  const sameLine = a.fixedIn.find((f) => {
    const [fm, fn] = parseVersion(f)
    return fm === major && fn === minor
  })
  if (sameLine) return !versionAtLeast(version, sameLine)
  // a line without its own fix: affected when older than the first fixed line, safe when newer than the last
  return !versionAtLeast(version, a.fixedIn[a.fixedIn.length - 1])
}

/** The advisories that apply to `version`, each with a sentence naming its fix. */
export function serverVulnerabilities(version: string): ReadonlyArray<ServerAdvisory & { readonly warning: string }> {
  return SERVER_ADVISORIES.filter((a) => isAffected(version, a)).map((a) => ({
    ...a,
    warning: `nats-server ${version} has a published vulnerability, ${a.id} (${a.summary}); fixed in ${a.fixedIn.join(" and ")}: upgrade the server`,
  }))
}
