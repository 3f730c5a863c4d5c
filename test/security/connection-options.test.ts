/**
 * Credentials in the ecosystem's conventions, against real servers: in the URL, as options, and
 * in each environment variable the `nats` CLI reads. Every accepted form connects; without it the
 * server says Authorization Violation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect } from "@nats-io/transport-node"
import { createUser } from "@nats-io/nkeys"
import { connectionOptions, redactUrl, splitUrlCredentials, type Credentials } from "../../runtime/security/connection-options.ts"
import { connectNats } from "../../runtime/node/node.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

const dir = mkdtempSync(join(tmpdir(), "ants-conn-"))
const nkey = createUser()
const seedFile = join(dir, "user.nk")
let users: NatsServer
let tokens: NatsServer

beforeAll(async () => {
  writeFileSync(seedFile, `# a seed\n${new TextDecoder().decode(nkey.getSeed())}\n`, { mode: 0o600 })
  const usersConf = join(dir, "users.conf")
  writeFileSync(usersConf, `authorization { users = [ { user: "alice", password: "p@ss:w/rd" }, { nkey: "${nkey.getPublicKey()}" } ] }\n`)
  const tokenConf = join(dir, "token.conf")
  writeFileSync(tokenConf, `authorization { token: "s3cret-token" }\n`)
  ;[users, tokens] = await Promise.all([natsFixture({ config: usersConf }), natsFixture({ config: tokenConf })])
})

afterAll(async () => {
  await users?.stop()
  await tokens?.stop()
})

/** Connects as the resolved options say, closes, and returns "ok" or the error message. */
async function attempt(servers: string, given: Credentials = {}, env: Record<string, string> = {}): Promise<string> {
  try {
    const nc = await connect({ ...connectionOptions(servers, given, env).options, reconnect: false, timeout: 3000 })
    await nc.close()
    return "ok"
  } catch (e) {
    return (e as Error).message
  }
}

const hostOf = (s: NatsServer) => s.url.replace("nats://", "")

describe("connection options", () => {
  it("connection options - anonymous connections are refused by servers that require authentication", async () => {
    expect(await attempt(users.url)).toMatch(/Authorization Violation/i)
    expect(await attempt(tokens.url)).toMatch(/Authorization Violation/i)
  })

  it("connection options - user and password in the URL (percent-encoded) work, and the URL handed to nats.js has none", async () => {
    const url = `nats://alice:${encodeURIComponent("p@ss:w/rd")}@${hostOf(users)}`
    expect(await attempt(url)).toBe("ok")
    expect(connectionOptions(url).servers).toEqual([users.url])
    expect(connectionOptions(url).auth).toBe("user alice")
    expect(redactUrl(url)).toBe(`nats://***@${hostOf(users)}`)
    expect(await attempt(`nats://alice:wrong@${hostOf(users)}`)).toMatch(/Authorization Violation/i)
  })

  it("connection options - a token in the URL works", async () => {
    expect(splitUrlCredentials(`nats://s3cret-token@${hostOf(tokens)}`)).toMatchObject({ token: "s3cret-token" })
    expect(await attempt(`nats://s3cret-token@${hostOf(tokens)}`)).toBe("ok")
  })

  it("connection options - each environment variable of the nats CLI works: NATS_URL, NATS_USER/NATS_PASSWORD, NATS_USER alone as a token, NATS_TOKEN, NATS_NKEY", async () => {
    expect(await attempt("", {}, { NATS_URL: users.url, NATS_USER: "alice", NATS_PASSWORD: "p@ss:w/rd" })).toBe("ok")
    expect(await attempt("", {}, { NATS_URL: tokens.url, NATS_USER: "s3cret-token" })).toBe("ok")
    expect(await attempt(tokens.url, {}, { NATS_TOKEN: "s3cret-token" })).toBe("ok")
    expect(await attempt(users.url, {}, { NATS_NKEY: seedFile })).toBe("ok")
    expect(connectionOptions(users.url, {}, { NATS_NKEY: seedFile }).auth).toBe(`nkey ${seedFile}`)
  })

  it("connection options - options win over the URL and the environment; an nkey seed file works as an option", async () => {
    expect(await attempt(users.url, { user: "alice", password: "p@ss:w/rd" }, { NATS_USER: "bob", NATS_PASSWORD: "x" })).toBe("ok")
    expect(await attempt(users.url, { nkey: seedFile })).toBe("ok")
    expect(await attempt(`nats://alice:wrong@${hostOf(users)}`, { user: "alice", password: "p@ss:w/rd" })).toBe("ok")
  })

  it("connection options - unreadable or incomplete credentials are refused with a clear error before connecting", () => {
    expect(() => connectionOptions(users.url, { nkey: join(dir, "missing.nk") })).toThrow(/cannot read the nkey seed file .*missing\.nk/)
    writeFileSync(join(dir, "empty.nk"), "no seed here\n")
    expect(() => connectionOptions(users.url, { nkey: join(dir, "empty.nk") })).toThrow(/holds no nkey seed/)
    expect(() => connectionOptions(users.url, { tlsCert: seedFile })).toThrow(/needs both its certificate and its key/)
    expect(() => connectionOptions(users.url, { creds: join(dir, "missing.creds") })).toThrow(/cannot read the credentials file/)
  })

  it("connection options - connectNats, which startNode and the CLI use, takes credentials from the URL", async () => {
    const nc = await connectNats(`nats://alice:${encodeURIComponent("p@ss:w/rd")}@${hostOf(users)}`, "test")
    expect(nc.isClosed()).toBe(false)
    await nc.close()
  })
})
