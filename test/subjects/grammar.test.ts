import { describe, expect, it } from "vitest"
import {
  AGENT_WILDCARD,
  AGENT_WILDCARDS,
  MAX_SUBJECT_LENGTH,
  MAX_TOKEN_LENGTH,
  PARTITIONS,
  SubjectError,
  agentSubject,
  auditSubject,
  bounded,
  isMappingProbe,
  isToken,
  lifecycleSubject,
  lifecycleWildcard,
  mappedProbePattern,
  mappingProbeSubject,
  nodeSubject,
  parseAgentSubject,
  parseInbound,
  parseTopicSubject,
  partitionQueue,
  partitionSubject,
  partitionSubscription,
  path,
  senderSubject,
  supervisorSubject,
  taskSubject,
  token,
  topicPattern,
  topicPatternAllTenants,
  topicSubject,
} from "../../subjects/grammar.ts"

/** The SubjectError a call throws (fails the test when it throws nothing or something else). */
function subjectError(f: () => unknown): SubjectError {
  try {
    f()
  } catch (e) {
    expect((e as SubjectError)._tag).toBe("SubjectError")
    return e as SubjectError
  }
  throw new Error("expected a SubjectError, nothing was thrown")
}

const echo = { tenant: "default", type: "echo", id: "e1", tag: "Say" }

describe("subject grammar: tokens", () => {
  it("token - accepts letters, digits, '_' and '-'", () => {
    for (const t of ["a", "A1", "node-1", "x_y", "-", "0"]) expect(token("id", t)).toBe(t)
    expect(isToken("ok-1_A")).toBe(true)
  })

  it("token - rejects dots, wildcards, spaces, empty and non-strings, naming the kind", () => {
    for (const bad of ["a.b", "*", ">", "a b", "a\tb", "", "é", "a/b"]) {
      const e = subjectError(() => token("id", bad))
      expect(e.code).toBe("invalid_subject")
      expect(e.kind).toBe("id")
      expect(isToken(bad)).toBe(false)
    }
    expect(subjectError(() => token("type", undefined)).message).toContain("type must be a non-empty string")
    expect(subjectError(() => token("type", 7)).message).toContain("non-empty string")
    expect(isToken(7)).toBe(false)
  })

  it("token - tenants may not begin with '_' and tags must be PascalCase or runtime '_' tags", () => {
    expect(subjectError(() => token("tenant", "_sys")).message).toContain("reserved for the runtime")
    expect(token("tenant", "acme_1")).toBe("acme_1")
    expect(subjectError(() => token("tag", "say")).message).toContain("PascalCase")
    expect(subjectError(() => token("tag", "Say-It")).kind).toBe("tag")
    expect(token("tag", "AssignTask")).toBe("AssignTask")
    expect(token("tag", "_Wake")).toBe("_Wake")
  })

  it("token - caps the length at MAX_TOKEN_LENGTH with an error that says what to do", () => {
    expect(MAX_TOKEN_LENGTH).toBe(128)
    expect(token("id", "a".repeat(MAX_TOKEN_LENGTH))).toHaveLength(MAX_TOKEN_LENGTH)
    const e = subjectError(() => token("id", "a".repeat(MAX_TOKEN_LENGTH + 1)))
    expect(e.message).toContain("129 characters")
    expect(e.message).toContain(`at most ${MAX_TOKEN_LENGTH}`)
    expect(e.message.length).toBeLessThan(300) // the error does not echo the whole token
    expect(isToken("a".repeat(5000))).toBe(false)
    expect(subjectError(() => agentSubject({ ...echo, id: "x".repeat(5000) })).kind).toBe("id")
  })

  it("path - splits and validates dotted paths, and bounds their length", () => {
    expect(path("topic", "orders.eu.created")).toEqual(["orders", "eu", "created"])
    expect(path("topic", ["a", "b"])).toEqual(["a", "b"])
    expect(subjectError(() => path("topic", "")).message).toContain("at least one token")
    expect(subjectError(() => path("topic", "a..b")).kind).toBe("topic")
    const long = Array.from({ length: 20 }, () => "t".repeat(100)).join(".")
    expect(long.length).toBeGreaterThan(MAX_SUBJECT_LENGTH)
    expect(subjectError(() => path("topic", long)).message).toContain(`at most ${MAX_SUBJECT_LENGTH}`)
  })

  it("bounded - lets subjects up to MAX_SUBJECT_LENGTH through and refuses longer ones", () => {
    expect(bounded("a".repeat(MAX_SUBJECT_LENGTH))).toHaveLength(MAX_SUBJECT_LENGTH)
    expect(subjectError(() => bounded("a".repeat(MAX_SUBJECT_LENGTH + 1))).kind).toBe("subject")
  })
})

describe("subject grammar: agent subjects", () => {
  it("agentSubject - builds ants.<tenant>.agent.<type>.<id>.<Tag> and parseAgentSubject inverts it", () => {
    const s = agentSubject(echo)
    expect(s).toBe("ants.default.agent.echo.e1.Say")
    expect(parseAgentSubject(s)).toEqual(echo)
  })

  it("agentSubject - refuses any bad part with the part's kind", () => {
    expect(subjectError(() => agentSubject({ ...echo, tenant: "a.b" })).kind).toBe("tenant")
    expect(subjectError(() => agentSubject({ ...echo, type: "*" })).kind).toBe("type")
    expect(subjectError(() => agentSubject({ ...echo, id: "" })).kind).toBe("id")
    expect(subjectError(() => agentSubject({ ...echo, tag: "say" })).kind).toBe("tag")
  })

  it("parseAgentSubject - refuses subjects of the wrong shape with the grammar in the message", () => {
    for (const bad of ["ants.default.agent.echo.Say", "ants.default.agent.echo.e1.Say.extra", "nats.default.agent.echo.e1.Say", "ants.default.topic.echo.e1.Say"]) {
      const e = subjectError(() => parseAgentSubject(bad))
      expect(e.kind).toBe("subject")
      expect(e.message).toContain("ants.<tenant>.agent.<type>.<id>.<Tag>")
    }
    expect(subjectError(() => parseAgentSubject("ants._sys.agent.echo.e1.Say")).kind).toBe("tenant")
  })

  it("partition subjects - follow nats.conf's mapping and refuse partitions out of range", () => {
    expect(partitionSubscription(0)).toBe("ants._part.0.>")
    expect(partitionQueue(63)).toBe("ants-part-63")
    expect(partitionSubject(5, echo)).toBe("ants._part.5.default.echo.e1.Say")
    for (const p of [-1, PARTITIONS, 1.5, Number.NaN]) expect(subjectError(() => partitionSubscription(p)).message).toContain(`0..${PARTITIONS - 1}`)
  })
})

describe("subject grammar: inbound parsing", () => {
  it("parseInbound - parses mapped and unmapped agent subjects", () => {
    expect(parseInbound("ants.default.agent.echo.e1.Say")).toEqual({ ...echo, partition: -1 })
    expect(parseInbound("ants._part.17.acme.counter.c-1._Wake")).toEqual({ tenant: "acme", type: "counter", id: "c-1", tag: "_Wake", partition: 17 })
  })

  it("parseInbound - returns (does not throw) a SubjectError for each kind of bad subject", () => {
    const cases: Array<[string, string]> = [
      ["ants.default.agent.echo.Say", "subject"],
      ["ants.default.agent.echo.e1.Say.extra", "subject"],
      ["ants.default.agent", "subject"],
      ["ants.default.agent.echo.e1.say", "tag"],
      ["ants.default.agent.echo.e1.Say-It", "tag"],
      ["ants._sys.agent.echo.e1.Say", "tenant"],
      ["ants._part.3._sys.echo.e1.Say", "tenant"],
      [`ants.default.agent.echo.${"x".repeat(200)}.Say`, "id"],
      [`ants.default.agent.${"t".repeat(129)}.e1.Say`, "type"],
      [`ants.${"t".repeat(129)}.agent.echo.e1.Say`, "tenant"],
      [`ants.default.agent.echo.e1.${"S".repeat(129)}`, "tag"],
    ]
    for (const [subject, kind] of cases) {
      const r = parseInbound(subject)
      expect(r, subject).toBeInstanceOf(SubjectError)
      expect((r as SubjectError).kind, subject).toBe(kind)
      expect((r as SubjectError).code).toBe("invalid_subject")
    }
    expect((parseInbound("ants._sys.agent.echo.e1.Say") as SubjectError).message).toContain("reserved for the runtime")
  })

  it("senderSubject - turns a mapped subject back into the one the sender used", () => {
    expect(senderSubject("ants._part.9.default.echo.e1.Say")).toBe("ants.default.agent.echo.e1.Say")
    expect(senderSubject("ants.default.agent.echo.Say")).toBe("ants.default.agent.echo.Say")
  })

  it("isMappingProbe - recognises the runtime's probes, mapped or not, and nothing else", () => {
    const probe = mappingProbeSubject("abc123")
    expect(probe).toBe("ants._sys.agent.probe.abc123.Probe")
    expect(mappedProbePattern("abc123")).toBe("ants._part.*._sys.probe.abc123.Probe")
    expect(isMappingProbe(probe)).toBe(true)
    expect(isMappingProbe("ants._part.12._sys.probe.abc123.Probe")).toBe(true)
    expect(isMappingProbe("ants._sys.agent.echo.e1.Say")).toBe(false)
    expect(isMappingProbe("ants._part.12._sys.echo.e1.Say")).toBe(false)
    expect(isMappingProbe("ants.default.agent.probe.x.Probe")).toBe(false)
  })

  it("agent wildcards - cover every subject the mapping leaves alone", () => {
    expect(AGENT_WILDCARDS).toEqual(["ants.*.agent", AGENT_WILDCARD])
    expect(AGENT_WILDCARD).toBe("ants.*.agent.>")
  })
})

describe("subject grammar: topics, tasks, audit and system subjects", () => {
  it("topics - subjects, patterns and parsing", () => {
    expect(topicSubject("default", "orders.created")).toBe("ants.default.topic.orders.created")
    expect(topicSubject("acme", ["a", "b"])).toBe("ants.acme.topic.a.b")
    expect(topicPattern("acme", "orders.*.created")).toBe("ants.acme.topic.orders.*.created")
    expect(topicPattern("acme", "alerts.>")).toBe("ants.acme.topic.alerts.>")
    expect(subjectError(() => topicPattern("acme", "a.>.b")).kind).toBe("topic")
    expect(subjectError(() => topicSubject("acme", "orders.*")).kind).toBe("topic")
    expect(topicPatternAllTenants("news.*")).toBe("ants.*.topic.news.*")
    expect(parseTopicSubject("ants.acme.topic.orders.eu.created")).toEqual({ tenant: "acme", name: "orders.eu.created" })
    expect(subjectError(() => parseTopicSubject("ants.acme.agent.x")).kind).toBe("subject")
  })

  it("topics - a topic too long for one subject is refused", () => {
    const long = Array.from({ length: 9 }, () => "t".repeat(120))
    expect(subjectError(() => topicSubject("default", long)).message).toContain(`at most ${MAX_SUBJECT_LENGTH}`)
    expect(() => topicPattern("default", [...long, ">"])).toThrow(/at most 1024/)
  })

  it("tasks and audit - subjects", () => {
    expect(taskSubject("default", "finance.reconcile")).toBe("ants.default.task.finance.reconcile")
    expect(auditSubject("acme", "payment")).toBe("ants.acme.audit.payment")
    expect(subjectError(() => auditSubject("acme", "a.b")).kind).toBe("kind")
  })

  it("system subjects - lifecycle, supervisor and node", () => {
    const a = { tenant: "default", type: "counter", id: "c1" }
    expect(lifecycleSubject(a)).toBe("ants._sys.lifecycle.default.counter.c1")
    expect(lifecycleWildcard()).toBe("ants._sys.lifecycle.*.*.*")
    expect(lifecycleWildcard("acme", "counter")).toBe("ants._sys.lifecycle.acme.counter.*")
    expect(supervisorSubject(a)).toBe("ants._sys.supervisor.default.counter.c1")
    expect(nodeSubject("node-1", "stats")).toBe("ants._sys.node.node-1.stats")
    expect(subjectError(() => nodeSubject("node.1", "stats")).kind).toBe("node")
    expect(subjectError(() => nodeSubject("n", ...Array.from({ length: 9 }, () => "x".repeat(120)))).kind).toBe("subject")
  })
})
