/**
 * Checks before a local file or process is trusted. The CLI finds a node's embedded server
 * through a file under the temporary folder, which other local users can also write to: a
 * planted file would point `ants tell` at a server of theirs and read what root sends. So the
 * file must be private to its owner (in a folder only the owner can enter), and the process it
 * names must really be a nats-server, not any live pid (pid 1 is always alive).
 */
import { execFileSync } from "node:child_process"
import { chmodSync, lstatSync, mkdirSync, readFileSync } from "node:fs"
import { basename } from "node:path"

/** Why a file or process is not trusted, or undefined when it is. */
export type Distrust = string | undefined

function uid(): number | undefined {
  return typeof process.getuid === "function" ? process.getuid() : undefined
}

/**
 * A folder only the current user can enter (created 0700 if missing). Throws when it exists but
 * belongs to someone else, is a symlink, or is open to others: nothing is written there then.
 */
export function privateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const why = distrustOf(dir, "folder")
  if (why) throw new Error(why)
  // umask may have widened nothing, but a folder we own that is 0755 from an older version is fixed
  chmodSync(dir, 0o700)
  return dir
}

/** Undefined when `path` (a file or folder) is owned by us, no symlink, and nobody else may write it. */
export function distrustOf(path: string, what = "file"): Distrust {
  let st
  try {
    st = lstatSync(path)
  } catch (e) {
    return `${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`
  }
  if (st.isSymbolicLink()) return `${path} is a symbolic link; a private ${what} must not be one`
  const me = uid()
  if (me !== undefined && st.uid !== me) return `${path} belongs to uid ${st.uid}, not to you (uid ${me})`
  if ((st.mode & 0o022) !== 0) return `${path} may be written by others (mode ${(st.mode & 0o777).toString(8)}); a private ${what} is 0${what === "folder" ? "700" : "600"}`
  return undefined
}

/** The command line of a process (argv), or undefined when it is gone or cannot be read. */
export function commandLineOf(pid: number): string[] | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8")
    return raw.split("\0").filter((s) => s.length > 0)
  } catch {
    // no /proc (macOS, BSD): ask ps
  }
  try {
    const out = execFileSync("ps", ["-p", String(pid), "-o", "command="], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
    return out ? out.split(/\s+/) : undefined
  } catch {
    return undefined
  }
}

/** Undefined when `pid` is a running nats-server; otherwise why it is not. */
export function distrustServerPid(pid: unknown): Distrust {
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 1) return `server pid ${String(pid)} is not a nats-server process`
  const argv = commandLineOf(pid)
  if (!argv) return `no process ${pid} is running`
  if (!basename(argv[0] ?? "").startsWith("nats-server")) return `process ${pid} is ${argv[0]}, not a nats-server`
  return undefined
}
