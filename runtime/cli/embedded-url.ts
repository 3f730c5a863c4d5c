/**
 * While a node runs on its embedded nats-server, its URL is kept in a file under the temporary
 * folder so that `ants ask`, `ants tell` and friends on the same machine find it without flags.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"

const file = () => join(tmpdir(), `ants-embedded-${userInfo().uid}.url`)

export function writeEmbeddedUrl(url: string): void {
  try {
    writeFileSync(file(), url)
  } catch {
    // best effort: clients can always be given --nats
  }
}

export function readEmbeddedUrl(): string | undefined {
  try {
    const url = readFileSync(file(), "utf8").trim()
    return url || undefined
  } catch {
    return undefined
  }
}

export function clearEmbeddedUrl(url: string): void {
  if (readEmbeddedUrl() === url) rmSync(file(), { force: true })
}
