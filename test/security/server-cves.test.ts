import { describe, expect, it } from "vitest"
import { serverVulnerabilities } from "../../runtime/security/server-cves.ts"

const ids = (v: string) => serverVulnerabilities(v).map((a) => a.id)

describe("server CVEs", () => {
  it("server CVEs - each advisory applies up to the fix of the version's own line", () => {
    expect(ids("2.9.10")).toEqual(["CVE-2023-47090", "CVE-2025-30215"])
    expect(ids("2.9.23")).toEqual(["CVE-2025-30215"])
    expect(ids("2.10.1")).toEqual(["CVE-2023-47090", "CVE-2025-30215"])
    expect(ids("2.10.2")).toEqual(["CVE-2025-30215"])
    expect(ids("2.10.26")).toEqual(["CVE-2025-30215"])
    expect(ids("2.10.27")).toEqual([])
    expect(ids("2.11.0")).toEqual(["CVE-2025-30215"])
    expect(ids("2.11.1")).toEqual([])
    expect(ids("2.12.0")).toEqual([])
    expect(ids("2.1.0")).toEqual([])
  })

  it("server CVEs - the warning names the fixing versions", () => {
    const [a] = serverVulnerabilities("2.9.22")
    expect(a.warning).toContain("nats-server 2.9.22 has a published vulnerability, CVE-2023-47090")
    expect(a.warning).toContain("fixed in 2.9.23 and 2.10.2")
  })
})
