import { describe, expect, it } from "vitest"
import { supervisorSubject } from "../../subjects/grammar.ts"
import { eventAddress } from "../../supervisors/mod.ts"

describe("eventAddress", () => {
  it("eventAddress - an actor's decision goes under its own address, default tenant when none", () => {
    const target = { kind: "actor", type: "billing", id: "inv-1", path: ["billing"] } as const
    expect(eventAddress({ ...target, tenant: "acme" })).toEqual({ tenant: "acme", type: "billing", id: "inv-1" })
    expect(supervisorSubject(eventAddress(target))).toBe("ants._sys.supervisor.default.billing.inv-1")
  })

  it("eventAddress - a type-level decision goes under the type with id _type", () => {
    const a = eventAddress({ kind: "child", path: ["finance", "billing"], childKind: "type" }, "acme")
    expect(supervisorSubject(a)).toBe("ants._sys.supervisor.acme.billing._type")
  })

  it("eventAddress - workers and supervisors go under _tree with their path", () => {
    const a = eventAddress({ kind: "child", path: ["finance", "ledger"], childKind: "worker" })
    expect(supervisorSubject(a)).toBe("ants._sys.supervisor.default._tree.finance__ledger")
  })
})
