/** `ants auth init`: what it writes, what it refuses, and that nats-server accepts the result. */
import { describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { main } from "../../runtime/cli/main.ts"
import { findNatsServer } from "../../runtime/server/nats-server.ts"

function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ""
  let err = ""
  return main(argv, { out: (s) => void (out += s + "\n"), err: (s) => void (err += s + "\n") }).then((code) => ({ code, out, err }))
}

describe("auth init", () => {
  it("auth init - writes a server configuration nats-server accepts, with one principal per node, operator and tenant", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "ants-auth-")), "auth")
    const r = await cli(["auth", "init", "--tenants", "acme,globex", "--out", out, "--json"])
    expect(r.code).toBe(0)
    const written = JSON.parse(r.out) as { principals: Array<{ name: string; kind: string; tenant?: string }> }
    expect(written.principals.map((p) => `${p.kind}:${p.tenant ?? p.name}`)).toEqual(["node:node", "operator:operator", "tenant:acme", "tenant:globex"])
    const check = spawnSync(findNatsServer(), ["-c", join(out, "nats.conf"), "-t"], { encoding: "utf8" })
    expect(`${check.stdout}${check.stderr}`).toContain("is valid")
    const conf = readFileSync(join(out, "nats.conf"), "utf8")
    expect(conf).toContain('listen: "127.0.0.1:4222"')
    expect(conf).toContain('"ants.*.agent.*.*.*": "ants._part.{{partition(64,2,3)}}.$1.$2.$3.$4"')
  })

  it("auth init - refuses to replace a deployment's keys without --force, and bad tenant names", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "ants-auth-")), "auth")
    expect((await cli(["auth", "init", "--tenants", "acme", "--out", out])).code).toBe(0)
    const again = await cli(["auth", "init", "--tenants", "acme", "--out", out])
    expect(again.code).toBe(2)
    expect(again.err).toContain("Pass --force to replace every key")
    expect((await cli(["auth", "init", "--tenants", "acme", "--out", out, "--force"])).code).toBe(0)
    const bad = await cli(["auth", "init", "--tenants", "ac.me", "--out", join(out, "x")])
    expect(bad.code).toBe(2)
    expect(bad.err).toContain('tenant "ac.me" is not a valid subject token')
    expect((await cli(["auth", "init", "--out", out])).err).toContain("--tenants <t1,t2> is required for auth init")
  })
})
