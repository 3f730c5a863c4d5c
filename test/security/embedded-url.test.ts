/**
 * The file through which CLI commands find a node's embedded server is trusted only when it is
 * private to its owner and names a running nats-server: a planted file (another owner, open
 * modes, pid 1, a process that is not a nats-server) is ignored with the reason. The embedded
 * server itself authenticates, with credentials made for the run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { connect } from "@nats-io/transport-node"
import { embeddedUrlDir, embeddedUrlFile, readEmbeddedUrl, writeEmbeddedUrl } from "../../runtime/cli/embedded-url.ts"
import { resolveNatsUrl } from "../../runtime/cli/client-connection.ts"
import { startNatsServer, type NatsServer } from "../../runtime/server/nats-server.ts"

const realTmp = process.env.TMPDIR
const TMP = mkdtempSync(`${tmpdir()}/ants-url-test-`)
let server: NatsServer

beforeAll(async () => {
  // this file's own temporary folder: the URL file of a node someone else runs here is not touched
  process.env.TMPDIR = TMP
  server = await startNatsServer({ authenticate: true })
})

afterAll(async () => {
  if (realTmp === undefined) delete process.env.TMPDIR
  else process.env.TMPDIR = realTmp
  await server?.stop()
  rmSync(TMP, { recursive: true, force: true })
})

/** What a client command would resolve, and what it said on stderr. */
function resolve(): { url: string; source: string; note: string; credentials?: object } {
  let note = ""
  const r = resolveNatsUrl(undefined, { out: () => {}, err: (s) => void (note += s) })
  return { ...r, note }
}

const plant = (content: object, mode = 0o600) => {
  mkdirSync(embeddedUrlDir(), { recursive: true, mode: 0o700 })
  chmodSync(embeddedUrlDir(), 0o700)
  rmSync(embeddedUrlFile(), { force: true })
  writeFileSync(embeddedUrlFile(), JSON.stringify(content), { mode })
  chmodSync(embeddedUrlFile(), mode)
}

const env = process.env
describe("embedded url", () => {
  it("embedded url - the embedded server refuses anonymous clients and accepts the run's credentials", async () => {
    expect(server.credentials?.user).toBe("ants")
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i)
    const nc = await connect({ servers: server.url, user: server.credentials!.user, pass: server.credentials!.password, reconnect: false })
    await nc.close()
  })

  it("embedded url - a node's file is 0600 in a 0700 folder, and a client trusts it and gets the credentials", async () => {
    delete env.NATS_URL
    writeEmbeddedUrl(server.url, { serverPid: server.pid, ...server.credentials })
    expect(statSync(embeddedUrlDir()).mode & 0o777).toBe(0o700)
    expect(statSync(embeddedUrlFile()).mode & 0o777).toBe(0o600)
    const r = resolve()
    expect(r).toMatchObject({ url: server.url, source: "embedded", credentials: { user: "ants", password: server.credentials!.password } })
    expect(r.note).toBe("")
  })

  it("embedded url - a planted file naming pid 1 (alive, but no nats-server) is not trusted", () => {
    plant({ url: "nats://127.0.0.1:1", pid: 1, serverPid: 1 })
    const r = resolve()
    expect(r.source).toBe("default")
    expect(r.note).toContain("not trusting")
    expect(r.note).toContain("is not a nats-server")
  })

  it("embedded url - a file naming a live process that is not a nats-server (this test) is not trusted", () => {
    plant({ url: server.url, pid: process.pid, serverPid: process.pid })
    const r = resolve()
    expect(r.source).toBe("default")
    expect(r.note).toMatch(/process \d+ is .*not a nats-server/)
  })

  it("embedded url - a file others may write, or in a folder others may write, is not trusted", () => {
    plant({ url: server.url, pid: process.pid, serverPid: server.pid }, 0o666)
    expect(resolve()).toMatchObject({ source: "default", note: expect.stringContaining("may be written by others (mode 666)") })
    plant({ url: server.url, pid: process.pid, serverPid: server.pid })
    chmodSync(embeddedUrlDir(), 0o777)
    expect(resolve()).toMatchObject({ source: "default", note: expect.stringContaining(`${embeddedUrlDir()} may be written by others`) })
    chmodSync(embeddedUrlDir(), 0o700)
  })

  it("embedded url - a file owned by another user is not trusted", (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip(/* chown to another user needs root */)
    plant({ url: server.url, pid: process.pid, serverPid: server.pid })
    chownSync(embeddedUrlFile(), 65534, 65534)
    const r = resolve()
    expect(r.source).toBe("default")
    expect(r.note).toContain("belongs to uid 65534")
    // nor is the planted file removed or rewritten by us
    expect(readEmbeddedUrl()?.url).toBe(server.url)
    rmSync(embeddedUrlFile(), { force: true })
  })

  it("embedded url - a node refuses to write into a folder it does not own privately", () => {
    rmSync(embeddedUrlDir(), { recursive: true, force: true })
    mkdirSync(embeddedUrlDir(), { mode: 0o777 })
    chmodSync(embeddedUrlDir(), 0o777)
    if (process.getuid?.() === 0) chownSync(embeddedUrlDir(), 65534, 65534)
    writeEmbeddedUrl(server.url, { serverPid: server.pid, ...server.credentials })
    expect(readEmbeddedUrl()).toBeUndefined()
  })
})
