/**
 * While a node runs on its embedded nats-server, its URL, the credentials made for that run and
 * the pids of the node and of its server are kept in a file so that `ants ask`, `ants tell` and
 * friends on the same machine find and authenticate to it without flags.
 *
 * The file is `<tmp>/ants-<uid>/embedded.url`, 0600 in a 0700 folder: the node started last.
 * Each node also keeps its own copy, `embedded.<pid>.url`, so that when it stops while another
 * embedded node still runs, `embedded.url` names that one again instead of none. Before it is trusted,
 * readers check that the folder and the file belong to the current user and that nobody else
 * may write them, and that the server pid is a running nats-server (not merely a live process:
 * pid 1 always is). A file that fails is ignored with the reason (runtime/security/trusted-file.ts),
 * and one left by a node that crashed is removed.
 */
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
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

/** This node's own copy of its file (see the module's comment). */
function ownFile(dir: string): string {
  return join(dir, `embedded.${process.pid}.url`)
}

/** Writes `text` to `file` aside and renames it: a reader never sees half a file, and the mode is set before the secret is in it. */
function writePrivate(dir: string, file: string, text: string): void {
  const tmp = join(dir, `.embedded.url.${process.pid}`)
  writeFileSync(tmp, text, { mode: 0o600 })
  renameSync(tmp, file)
}

/**
 * Makes this node the one client commands find. Returns the embedded node they found until now,
 * when one still runs (the caller says it is no longer the one they reach).
 */
export function writeEmbeddedUrl(url: string, run: { serverPid?: number; user?: string; password?: string } = {}): { readonly pid: number; readonly url: string } | undefined {
  try {
    const dir = privateDir(embeddedUrlDir())
    const before = readEmbeddedUrl()
    const text = JSON.stringify({ url, pid: process.pid, ...run }) + "\n"
    writePrivate(dir, ownFile(dir), text)
    writePrivate(dir, embeddedUrlFile(), text)
    return before?.pid !== undefined && before.pid !== process.pid && isProcessAlive(before.pid) ? { pid: before.pid, url: before.url } : undefined
  } catch {
    // best effort: clients can always be given --nats and credentials
    return undefined
  }
}

/** The file's content (`embedded.url`, or another of the folder's), or undefined when there is none. Does not check whether to trust it. */
export function readEmbeddedUrl(file: string = embeddedUrlFile()): EmbeddedUrl | undefined {
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

/**
 * Forgets the embedded node of this URL: its own copy, and `embedded.url` if it still names it
 * (another node may have replaced it meanwhile), which then names the most recently started
 * embedded node still running, if any.
 */
export function clearEmbeddedUrl(url: string): void {
  const dir = embeddedUrlDir()
  for (const file of ownFiles(dir)) if (readEmbeddedUrl(file)?.url === url && distrustOf(file) === undefined) rmSync(file, { force: true })
  const e = readEmbeddedUrl()
  if (e?.url !== url || distrustOf(e.file) !== undefined) return
  const next = otherNodes(dir, url)[0]
  try {
    if (next) writePrivate(dir, e.file, readFileSync(next.file, "utf8"))
    else rmSync(e.file, { force: true })
  } catch {
    rmSync(e.file, { force: true })
  }
}

/** The nodes' own files in the folder (`embedded.<pid>.url`). */
function ownFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => /^embedded\.\d+\.url$/.test(n))
      .map((n) => join(dir, n))
  } catch {
    return []
  }
}

/** The other embedded nodes' own files that may be trusted and whose node and server run, newest first. */
function otherNodes(dir: string, url: string): EmbeddedUrl[] {
  const found: Array<EmbeddedUrl & { at: number }> = []
  for (const file of ownFiles(dir)) {
    const o = readEmbeddedUrl(file)
    if (!o || o.url === url || o.pid === undefined || !isProcessAlive(o.pid) || distrustOf(file) !== undefined || distrustServerPid(o.serverPid) !== undefined) {
      // a copy left by a node that is gone is removed on the way
      if (o && o.pid !== undefined && !isProcessAlive(o.pid) && distrustOf(file) === undefined) rmSync(file, { force: true })
      continue
    }
    found.push({ ...o, at: statSync(file).mtimeMs })
  }
  return found.sort((a, b) => b.at - a.at)
}
