/**
 * Credentials files (`.creds`: a user JWT and its nkey seed) against a server in operator mode,
 * the decentralised JWT setup `nsc` produces: the test signs an operator, an account (with
 * JetStream and the partition mapping), the system account and a user itself with nkeys, preloads the account in a
 * memory resolver, and writes the user's .creds file. `startNode`, `connectClient` and the
 * `ants` command line (flag and NATS_CREDS) connect with it; without it the server refuses, and
 * each says so clearly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createAccount, createOperator, createUser, type KeyPair } from "@nats-io/nkeys"
import { counter } from "../../actors/examples/index.ts"
import { main } from "../../runtime/cli/main.ts"
import { connectClient } from "../../runtime/client/connect-client.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { PARTITION_MAPPING } from "../../subjects/permissions.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

const dir = mkdtempSync(join(tmpdir(), "ants-creds-"))
const credsFile = join(dir, "ants.creds")
let server: NatsServer
let node: AntsNode | undefined

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url")

/** A NATS JWT (header `ed25519-nkey`) with `claims`, issued and signed by `issuer`. */
function jwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }))
  const claims = { jti: randomBytes(16).toString("hex").toUpperCase(), iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats: { ...nats, version: 2 } }
  const body = `${header}.${b64url(JSON.stringify(claims))}`
  return `${body}.${b64url(issuer.sign(new TextEncoder().encode(body)))}`
}

function credsText(userJwt: string, seed: Uint8Array): string {
  return [
    "-----BEGIN NATS USER JWT-----",
    userJwt,
    "------END NATS USER JWT------",
    "",
    "************************* IMPORTANT *************************",
    "NKEY Seed printed below can be used to sign and prove identity.",
    "",
    "-----BEGIN USER NKEY SEED-----",
    new TextDecoder().decode(seed),
    "------END USER NKEY SEED------",
    "",
  ].join("\n")
}

beforeAll(async () => {
  const operator = createOperator()
  const account = createAccount()
  const system = createAccount()
  const user = createUser()
  const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 }
  const jetstream = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 }
  const operatorJwt = jwt(operator, operator.getPublicKey(), "ants-test-operator", { type: "operator" })
  const accountJwt = jwt(operator, account.getPublicKey(), "ANTS", {
    type: "account",
    limits: { ...unlimited, ...jetstream },
    // in operator mode the partition mapping belongs to the account
    mappings: { [PARTITION_MAPPING.from]: [{ subject: PARTITION_MAPPING.to, weight: 100 }] },
  })
  const systemJwt = jwt(operator, system.getPublicKey(), "SYS", { type: "account", limits: unlimited })
  const userJwt = jwt(account, user.getPublicKey(), "ants", { type: "user", pub: {}, sub: {}, subs: -1, data: -1, payload: -1 })
  writeFileSync(credsFile, credsText(userJwt, user.getSeed()), { mode: 0o600 })
  const config = join(dir, "operator.conf")
  writeFileSync(config, [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    "resolver: MEMORY",
    "resolver_preload: {",
    `  ${account.getPublicKey()}: ${accountJwt}`,
    `  ${system.getPublicKey()}: ${systemJwt}`,
    "}",
    "",
  ].join("\n"))
  server = await natsFixture({ config })
})

afterAll(async () => {
  await node?.drain()
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const quiet = { out: () => {}, err: () => {} }

describe("credentials files", () => {
  it("creds - startNode and connectClient connect with a .creds file; an ask goes through the account's mapping to the node", async () => {
    node = await startNode({ agents: [counter], nats: server.url, credentials: { creds: credsFile }, logger: () => {} })
    const client = await connectClient({ nats: server.url, credentials: { creds: credsFile } })
    try {
      expect(await client.ask({ agent: "counter", id: "c1" }, "Add", { n: 2 })).toEqual({ total: 2 })
    } finally {
      await client.close()
    }
  })

  it("creds - the command line takes --creds and NATS_CREDS", async () => {
    const out: string[] = []
    const io = { out: (s: string) => out.push(s), err: () => {} }
    expect(await main(["ask", "ants.default.agent.counter.c1.Get", "{}", "--nats", server.url, "--creds", credsFile, "--json"], io)).toBe(0)
    expect(JSON.parse(out.join(""))).toEqual({ ok: true, value: { total: 2 } })
    const saved = process.env.NATS_CREDS
    process.env.NATS_CREDS = credsFile
    try {
      expect(await main(["nodes", "--nats", server.url, "--json"], quiet)).toBe(0)
    } finally {
      if (saved === undefined) delete process.env.NATS_CREDS
      else process.env.NATS_CREDS = saved
    }
  })

  it("creds - without the credentials file the server refuses, and each entry point says so", async () => {
    const errs: string[] = []
    const saved = { creds: process.env.NATS_CREDS, nkey: process.env.NATS_NKEY }
    delete process.env.NATS_CREDS
    delete process.env.NATS_NKEY
    try {
      expect(await main(["nodes", "--nats", server.url], { out: () => {}, err: (s: string) => errs.push(s) })).not.toBe(0)
      expect(errs.join("\n")).toMatch(/Authorization Violation/i)
      await expect(connectClient({ nats: server.url })).rejects.toThrow(/Authorization Violation/i)
      await expect(startNode({ agents: [counter], nats: server.url, logger: () => {} })).rejects.toThrow(/Authorization Violation/i)
      // a file that is not a credentials file is refused before connecting, naming the file
      const bogus = join(dir, "bogus.creds")
      writeFileSync(bogus, "not a creds file\n", { mode: 0o600 })
      await expect(connectClient({ nats: server.url, credentials: { creds: bogus } })).rejects.toThrow(/bogus\.creds is not a NATS credentials file/)
    } finally {
      if (saved.creds !== undefined) process.env.NATS_CREDS = saved.creds
      if (saved.nkey !== undefined) process.env.NATS_NKEY = saved.nkey
    }
  })
})
