/**
 * While a node runs on its embedded nats-server, its URL, the credentials made for that run and
 * the pids of the node and of its server are kept in a file so that `ants ask`, `ants tell` and
 * friends on the same machine find and authenticate to it without flags.
 *
 * The file is `<tmp>/ants-<uid>/embedded.url`, 0600 in a 0700 folder. Before it is trusted,
 * readers check that the folder and the file belong to the current user and that nobody else
 * may write them, and that the server pid is a running nats-server (not merely a live process:
 * pid 1 always is). A file that fails is ignored with the reason (runtime/security/trusted-file.ts),
 * and one left by a node that crashed is removed.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { distrustOf, distrustServerPid, privateDir } from "../security/trusted-file.ts"

export interface EmbeddedUrl {
  readonly url: string
  /** The node process that wrote the file. */
  readonly pid: number | undefined
  /** The embedded nats-server's pid. */
  readonly serverPid: number | undefined
  /** The user and password of the run (the embedded server authenticates). */
  readonly user?: string
  readonly password?: string
  readonly file: string
}

export function embeddedUrlDir(): string {
  return join(tmpdir(), `ants-${userInfo().uid}`)
}

export function embeddedUrlFile(): string {
  return join(embeddedUrlDir(), "embedded.url")
}

export function writeEmbeddedUrl(url: string, run: { serverPid?: number; user?: string; password?: string } = {}): void {
  try {
    const dir = privateDir(embeddedUrlDir())
    // written aside and renamed, so a reader never sees half a file and the mode is set before the secret is in it
    const tmp = join(dir, `.embedded.url.${process.pid}`)
    writeFileSync(tmp, JSON.stringify({ url, pid: process.pid, ...run }) + "\n", { mode: 0o600 })
    renameSync(tmp, embeddedUrlFile())
  } catch {
    // best effort: clients can always be given --nats and credentials
  }
}

/** The file's content, or undefined when there is none. Does not check whether to trust it. */
export function readEmbeddedUrl(): EmbeddedUrl | undefined {
  const file = embeddedUrlFile()
  let text: string
  try {
    text = readFileSync(file, "utf8").trim()
  } catch {
    return undefined
  }
  if (!text) return undefined
  try {
    const v = JSON.parse(text) as Record<string, unknown>
    if (typeof v.url !== "string" || !v.url) return undefined
    const num = (x: unknown) => (typeof x === "number" ? x : undefined)
    const str = (x: unknown) => (typeof x === "string" ? x : undefined)
    return { url: v.url, pid: num(v.pid), serverPid: num(v.serverPid), user: str(v.user), password: str(v.password), file }
  } catch {
    return undefined
  }
}

/**
 * Undefined when the file may be trusted; otherwise why not. Ownership and modes come first (a
 * planted file is never read further), then the server pid.
 */
export function distrustEmbeddedUrl(e: EmbeddedUrl): string | undefined {
  return distrustOf(embeddedUrlDir(), "folder") ?? distrustOf(e.file) ?? distrustServerPid(e.serverPid)
}

/** True while a process with this pid exists (EPERM: it exists, under another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Removes the file if it still names this URL (another node may have replaced it meanwhile) and is ours. */
export function clearEmbeddedUrl(url: string): void {
  const e = readEmbeddedUrl()
  if (e?.url === url && distrustOf(e.file) === undefined) rmSync(e.file, { force: true })
}
