/**
 * The shipped TLS configuration (nats-tls.conf) with certificates made by openssl: TLS required
 * means plain connections fail, `verify: true` means a client without a certificate fails too,
 * and a client with the CA, its certificate and its key (options or NATS_CA/NATS_CERT/NATS_KEY)
 * connects, still as one of the principals.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createConnection } from "node:net"
import { connect } from "@nats-io/transport-node"
import { PROJECT_NATS_BASE_CONF, PROJECT_NATS_CONF } from "../../runtime/server/nats-server.ts"
import { authInit } from "../../runtime/security/auth-init.ts"
import { connectionOptions, type Credentials } from "../../runtime/security/connection-options.ts"
import { makeCerts, type TestCerts } from "../helpers/certs.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"
import { waitUntil } from "../helpers/wait-until.ts"

const SHIPPED_TLS_CONF = join(PROJECT_NATS_CONF, "..", "nats-tls.conf")
const dir = mkdtempSync(join(tmpdir(), "ants-tls-"))
let server: NatsServer
let certs: TestCerts
const operator = join(dir, "auth", "operator.nk")

beforeAll(async () => {
  cpSync(PROJECT_NATS_CONF, join(dir, "nats.conf"))
  cpSync(PROJECT_NATS_BASE_CONF, join(dir, "nats-base.conf"))
  authInit({ out: join(dir, "auth"), tenants: ["acme"] })
  certs = makeCerts(join(dir, "tls"))
  // the shipped file; only its relative certificate paths are made absolute (the server reads them from its cwd)
  const conf = readFileSync(SHIPPED_TLS_CONF, "utf8")
  expect(conf).toContain('"tls/server-cert.pem"')
  writeFileSync(join(dir, "nats-tls.conf"), conf.split('"tls/').join(`"${dir}/tls/`))
  server = await natsFixture({ config: join(dir, "nats-tls.conf") })
})

afterAll(async () => {
  await server?.stop()
})

async function attempt(given: Credentials, env: Record<string, string> = {}): Promise<string> {
  try {
    const nc = await connect({ ...connectionOptions(server.url, given, env).options, reconnect: false, timeout: 3000 })
    await nc.flush()
    await nc.close()
    return "ok"
  } catch (e) {
    return String((e as Error).message || e)
  }
}

describe("tls", () => {
  it("tls - with TLS required, a plain connection fails: the server demands TLS and drops plain protocol", async () => {
    // a plain TCP client: the greeting demands TLS, and a plaintext CONNECT gets no PONG
    const sock = createConnection({ host: "127.0.0.1", port: server.port })
    let seen = ""
    sock.on("data", (b: Buffer) => void (seen += b.toString()))
    const closed = new Promise<void>((r) => sock.once("close", () => r()))
    sock.on("error", () => undefined)
    await waitUntil(() => seen.includes("INFO "), { message: "the server's greeting" })
    expect(seen).toMatch(/"tls_required":true/)
    sock.write('CONNECT {"verbose":false}\r\nPING\r\n')
    await closed
    expect(seen).not.toContain("PONG")
    // nats.js without the CA cannot verify the server: no connection either
    expect(await attempt({ nkey: operator })).toMatch(/certificate/i)
  })

  it("tls - with verify, a TLS client without a certificate fails", async () => {
    expect(await attempt({ nkey: operator, tlsCa: certs.ca })).toMatch(/certificate/i)
  })

  it("tls - the CA, a client certificate and a principal's key connect, as options or as NATS_CA/NATS_CERT/NATS_KEY", async () => {
    expect(await attempt({ nkey: operator, tlsCa: certs.ca, tlsCert: certs.clientCert, tlsKey: certs.clientKey })).toBe("ok")
    expect(await attempt({}, { NATS_NKEY: operator, NATS_CA: certs.ca, NATS_CERT: certs.clientCert, NATS_KEY: certs.clientKey })).toBe("ok")
  })

  it("tls - a certificate does not replace authentication: without a principal's key the server refuses", async () => {
    expect(await attempt({ tlsCa: certs.ca, tlsCert: certs.clientCert, tlsKey: certs.clientKey })).toMatch(/Authorization Violation/i)
  })
})
