/**
 * The shipped three-server configuration (nats-cluster/): without generated principals it does
 * not start; with them every file is valid for the installed nats-server, the three differ only
 * in server_name, and the test launcher changes nothing in them but the route listen address
 * (so the failover tests run what users deploy).
 */
import { spawnSync } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { PROJECT_CLUSTER_DIR, PROJECT_NATS_BASE_CONF, PROJECT_NATS_CONF, clusterConfigFor, findNatsServer } from "../../runtime/server/nats-server.ts"
import { authInit } from "../../runtime/security/auth-init.ts"

/** `nats-server -t`: parses the file and exits (it reports on stderr). */
const validate = (file: string) => {
  const r = spawnSync(findNatsServer(), ["-c", file, "-t"], { encoding: "utf8" })
  return `${r.stdout}${r.stderr}`
}

describe("cluster config", () => {
  it("cluster config - nats-cluster/a.conf, b.conf, c.conf are valid with generated principals and differ only in server_name", () => {
    const dir = mkdtempSync(join(tmpdir(), "ants-conf-test-"))
    try {
      // the shipped files as a user has them, before and after `ants auth init`
      cpSync(PROJECT_CLUSTER_DIR, join(dir, "nats-cluster"), { recursive: true })
      cpSync(PROJECT_NATS_CONF, join(dir, "nats.conf"))
      cpSync(PROJECT_NATS_BASE_CONF, join(dir, "nats-base.conf"))
      expect(validate(join(dir, "nats-cluster", "a.conf"))).toMatch(/auth\.conf|auth\/routes\.conf/)
      expect(validate(join(dir, "nats-cluster", "a.conf"))).not.toContain("is valid")
      authInit({ out: join(dir, "auth"), tenants: ["acme"] })
      const texts = ["a", "b", "c"].map((x) => {
        const file = join(dir, "nats-cluster", `${x}.conf`)
        expect(validate(file)).toContain("is valid")
        return readFileSync(file, "utf8")
      })
      // the settings (comments aside), with the server's own name taken out
      const settings = (t: string, x: string) => t.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).map((l) => l.replace(`ants-${x}`, "ants-X"))
      expect(settings(texts[1], "b")).toEqual(settings(texts[0], "a"))
      expect(settings(texts[2], "c")).toEqual(settings(texts[0], "a"))
      expect(texts[0]).toMatch(/^server_name: "ants-a"$/m)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("cluster config - the launcher's copy changes only the route listen address, to a loopback port, and writes loopback routes with credentials", () => {
    const dir = mkdtempSync(join(tmpdir(), "ants-conf-test-"))
    try {
      const file = clusterConfigFor(1, [16001, 16002, 16003], dir, undefined, "pw-1")
      expect(validate(file)).toContain("is valid")
      expect(readFileSync(file, "utf8")).toBe(readFileSync(join(PROJECT_CLUSTER_DIR, "b.conf"), "utf8"))
      const shipped = readFileSync(join(PROJECT_CLUSTER_DIR, "cluster.conf"), "utf8")
      const copy = readFileSync(join(dir, "nats-cluster", "cluster.conf"), "utf8")
      expect(copy).toContain(`listen: "127.0.0.1:16002"`)
      expect(copy.replace(`listen: "127.0.0.1:16002"`, `listen: "0.0.0.0:6222"`)).toBe(shipped)
      const routes = readFileSync(join(dir, "auth", "routes.conf"), "utf8")
      expect(routes).toContain(`"nats-route://ants-route:pw-1@127.0.0.1:16001"`)
      expect(routes).toMatch(/authorization \{\s+user: "ants-route"\s+password: "pw-1"\s+\}/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
