/**
 * The shipped three-server configuration (nats-cluster/): every file is valid for the installed
 * nats-server, the three differ only in server_name, and the test launcher changes nothing in
 * them but the route addresses (so the failover tests run what users deploy).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { PROJECT_CLUSTER_DIR, clusterConfigFor, findNatsServer } from "../../runtime/server/nats-server.ts"

/** `nats-server -t`: parses the file and exits (it reports on stderr). */
const validate = (file: string) => {
  const r = spawnSync(findNatsServer(), ["-c", file, "-t"], { encoding: "utf8" })
  return `${r.stdout}${r.stderr}`
}

describe("cluster config", () => {
  it("cluster config - nats-cluster/a.conf, b.conf, c.conf are valid and differ only in server_name", () => {
    const texts = ["a", "b", "c"].map((x) => {
      const file = join(PROJECT_CLUSTER_DIR, `${x}.conf`)
      expect(validate(file)).toContain("is valid")
      return readFileSync(file, "utf8")
    })
    // the settings (comments aside), with the server's own name taken out
    const settings = (t: string, x: string) => t.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).map((l) => l.replace(`ants-${x}`, "ants-X"))
    expect(settings(texts[1], "b")).toEqual(settings(texts[0], "a"))
    expect(settings(texts[2], "c")).toEqual(settings(texts[0], "a"))
    expect(texts[0]).toMatch(/^server_name: "ants-a"$/m)
  })

  it("cluster config - the launcher's copy changes only the route addresses, to loopback ports", () => {
    const dir = mkdtempSync(join(tmpdir(), "ants-conf-test-"))
    try {
      const file = clusterConfigFor(1, [16001, 16002, 16003], dir)
      expect(validate(file)).toContain("is valid")
      expect(readFileSync(file, "utf8")).toBe(readFileSync(join(PROJECT_CLUSTER_DIR, "b.conf"), "utf8"))
      const shipped = readFileSync(join(PROJECT_CLUSTER_DIR, "cluster.conf"), "utf8")
      const copy = readFileSync(join(dir, "nats-cluster", "cluster.conf"), "utf8")
      expect(copy).toContain(`listen: "127.0.0.1:16002"`)
      expect(copy).not.toMatch(/ants-[abc]:6222/)
      const back = copy
        .replace(`listen: "127.0.0.1:16002"`, `listen: "0.0.0.0:6222"`)
        .replace("127.0.0.1:16001", "ants-a:6222")
        .replace("127.0.0.1:16002", "ants-b:6222")
        .replace("127.0.0.1:16003", "ants-c:6222")
      expect(back).toBe(shipped)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
