/** Test certificates made with openssl: a CA, a server certificate for 127.0.0.1/localhost and a client certificate. */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

export interface TestCerts {
  readonly dir: string
  readonly ca: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
}

/** Writes the files into `dir` (created). Needs `openssl` on PATH. */
export function makeCerts(dir: string): TestCerts {
  mkdirSync(dir, { recursive: true })
  const f = (n: string) => join(dir, n)
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] })
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ants-test-ca", "-keyout", f("ca-key.pem"), "-out", f("ca.pem"))
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext)
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", f(`${name}-key.pem`), "-out", f(`${name}.csr`))
    ssl("x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca-key.pem"), "-CAcreateserial", "-days", "2", "-extfile", f(`${name}.ext`), "-out", f(`${name}-cert.pem`))
  }
  leaf("server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
  leaf("client", "ants-client", "extendedKeyUsage=clientAuth\n")
  return { dir, ca: f("ca.pem"), serverCert: f("server-cert.pem"), serverKey: f("server-key.pem"), clientCert: f("client-cert.pem"), clientKey: f("client-key.pem") }
}
