/**
 * While a node runs on its embedded nats-server, its URL (and the node's pid) is kept in a file
 * under the temporary folder so that `ants ask`, `ants tell` and friends on the same machine find
 * it without flags. A node that crashed leaves the file behind: readers check that the pid is
 * still alive (and callers that the URL still answers) before trusting it.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"

export interface EmbeddedUrl {
  readonly url: string
  /** The node process that wrote the file (absent in files written by older versions). */
  readonly pid: number | undefined
  readonly file: string
}

export function embeddedUrlFile(): string {
  return join(tmpdir(), `ants-embedded-${userInfo().uid}.url`)
}

export function writeEmbeddedUrl(url: string): void {
  try {
    writeFileSync(embeddedUrlFile(), JSON.stringify({ url, pid: process.pid }) + "\n")
  } catch {
    // best effort: clients can always be given --nats
  }
}

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
    const v = JSON.parse(text) as { url?: unknown; pid?: unknown }
    if (typeof v.url === "string" && v.url) return { url: v.url, pid: typeof v.pid === "number" ? v.pid : undefined, file }
    return undefined
  } catch {
    return { url: text, pid: undefined, file }
  }
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

/** Removes the file if it still names this URL (another node may have replaced it meanwhile). */
export function clearEmbeddedUrl(url: string): void {
  if (readEmbeddedUrl()?.url === url) rmSync(embeddedUrlFile(), { force: true })
}
