import { describe, expect, it } from "vitest"
import {
  DEFAULT_PRIORITY,
  MAX_TASK_PAYLOAD_BYTES,
  PRIORITIES,
  parseTaskStatusSubject,
  parseTaskSubject,
  taskConsumerName,
  taskDeadLetterSubject,
  taskLaneFilter,
  taskLaneSubject,
  taskScheduleSubject,
  taskStatusKey,
  taskStatusSubject,
} from "../../subjects/tasks.ts"
import { decodeTaskBody, decodeTaskSubmission, encodeTaskBody } from "../../runtime/tasks/task-codec.ts"
import { bidDelayMs, bidScore, capabilityMatch, taskPheromoneStrength, taskUrgency } from "../../runtime/tasks/marketplace.ts"
import { parseAckSubject } from "../../subjects/jetstream.ts"

const where = { tenant: "acme", id: "t1", now: Date.parse("2026-01-01T00:00:00Z") }

describe("task subjects", () => {
  it("task subjects - priority 5 is the bare subject, other priorities and sessions get lane suffixes", () => {
    expect(taskLaneSubject("acme", "example.work", 5)).toBe("ants.acme.task.example.work")
    expect(taskLaneSubject("acme", "example.work", 10)).toBe("ants.acme.task.example.work._p10")
    expect(taskLaneSubject("acme", "example.work", 3, "s-1")).toBe("ants.acme.task.example.work._s.s-1")
    expect(taskLaneFilter("acme", "example.work", "session")).toBe("ants.acme.task.example.work._s.*")
    expect(taskScheduleSubject("acme", "example.work")).toBe("ants._sys.tasks.acme.sched.example.work")
    expect(taskDeadLetterSubject("acme", "t1")).toBe("ants._sys.tasks.acme.dlq.t1")
    expect(taskDeadLetterSubject("acme")).toBe("ants._sys.tasks.acme.dlq.>")
    expect(taskStatusSubject("acme", "t1")).toBe("ants._sys.tasks.acme.status.t1")
    expect(taskStatusKey("acme", "t1")).toBe("acme.t1")
  })

  it("task subjects - parse round-trips lanes and sessions", () => {
    expect(parseTaskSubject("ants.acme.task.example.work")).toEqual({ tenant: "acme", capability: "example.work", lane: 5 })
    expect(parseTaskSubject("ants.acme.task.example.work._p7")).toEqual({ tenant: "acme", capability: "example.work", lane: 7 })
    expect(parseTaskSubject("ants.acme.task.a._s.x")).toEqual({ tenant: "acme", capability: "a", sessionId: "x" })
    expect(parseTaskStatusSubject("ants._sys.tasks.acme.status.t1")).toEqual({ tenant: "acme", id: "t1" })
    expect(() => parseTaskSubject("ants.acme.topic.x")).toThrow(/not a task subject/)
    expect(() => parseTaskSubject("ants.acme.task.a._p11")).toThrow(/outside 1..10/)
  })

  it("task subjects - capabilities are validated by the grammar and may not use reserved tokens", () => {
    expect(() => taskLaneSubject("acme", "bad token", 5)).toThrow(/not a valid subject token/)
    expect(() => taskLaneSubject("acme", "a._p1", 5)).toThrow(/reserved/)
    expect(() => taskLaneSubject("acme", "a.*", 5)).toThrow(/not a valid subject token/)
    expect(() => taskLaneSubject("_sys", "a", 5)).toThrow(/reserved for the runtime/)
  })

  it("task subjects - consumer names have no dots and keep distinct capabilities apart", () => {
    const a = taskConsumerName("acme", "a.b_c", 10)
    const b = taskConsumerName("acme", "a_b.c", 10)
    expect(a).not.toContain(".")
    expect(a).not.toBe(b)
    expect(taskConsumerName("acme", "x", "session").endsWith("_s")).toBe(true)
  })
})

describe("task submission schema", () => {
  it("task submission - names and numbers both give numeric priorities", () => {
    expect(decodeTaskSubmission({ capability: "a", priority: "critical" }, where).priority).toBe(PRIORITIES.critical)
    expect(decodeTaskSubmission({ capability: "a", priority: 2 }, where).priority).toBe(2)
    expect(decodeTaskSubmission({ capability: "a" }, where).priority).toBe(DEFAULT_PRIORITY)
  })

  it("task submission - bad input is refused with issues that say what is wrong", () => {
    expect(() => decodeTaskSubmission({ capability: "a", priority: 11 }, where)).toThrow(/priority/)
    expect(() => decodeTaskSubmission({ capability: "a", priority: "urgent" }, where)).toThrow(/priority/)
    expect(() => decodeTaskSubmission({ capability: "a b" }, where)).toThrow(/capability/)
    expect(() => decodeTaskSubmission({ capability: "a", notBefore: "tomorrow" }, where)).toThrow(/notBefore/)
    expect(() => decodeTaskSubmission({ capability: "a", sessionId: "has space" }, where)).toThrow(/sessionId/)
    expect(() => decodeTaskSubmission({ capability: "a", extra: 1 }, where)).toThrow(/extra/)
    expect(() => decodeTaskSubmission({ payload: 1 }, where)).toThrow(/capability/)
    const big = "x".repeat(MAX_TASK_PAYLOAD_BYTES + 1)
    expect(() => decodeTaskSubmission({ capability: "a", payload: big }, where)).toThrow(/above the limit/)
    try {
      decodeTaskSubmission({ capability: "a", priority: 0 }, where)
    } catch (e) {
      expect((e as { _tag: string })._tag).toBe("TaskInputError")
      expect((e as { issues: string[] }).issues.length).toBeGreaterThan(0)
    }
  })

  it("task body - a stored body decodes back to the same task; a disagreeing capability is refused", () => {
    const t = decodeTaskSubmission({ capability: "a.b", priority: "high", payload: { x: 1 }, sessionId: "s", deadline: 1_800_000_000_000 }, where)
    const back = decodeTaskBody(JSON.parse(JSON.stringify(encodeTaskBody(t))), { tenant: "acme", capability: "a.b", id: "t1", now: 0 })
    expect(back).toEqual(t)
    const wrong = decodeTaskBody({ capability: "other", payload: 1 }, { tenant: "acme", capability: "a.b", id: "t1", now: 0 })
    expect((wrong as { _tag: string })._tag).toBe("TaskInputError")
    const notObject = decodeTaskBody([1, 2], { tenant: "acme", capability: "a.b", id: "t1", now: 0 })
    expect((notObject as { _tag: string })._tag).toBe("TaskInputError")
  })
})

describe("marketplace rules", () => {
  it("marketplace rules - pheromone strength is priority/10 x urgency x 1/attempts", () => {
    const now = 1_000_000
    expect(taskPheromoneStrength({ priority: 10, attempt: 1, now })).toBeCloseTo(0.5)
    expect(taskPheromoneStrength({ priority: 10, attempt: 2, now })).toBeCloseTo(0.25)
    expect(taskPheromoneStrength({ priority: 10, attempt: 1, deadline: now, now })).toBeCloseTo(1)
    expect(taskUrgency(now + 10 * 3_600_000, now)).toBeCloseTo(0.1)
    expect(taskPheromoneStrength({ priority: 1, attempt: 50, now })).toBeCloseTo(0.01)
  })

  it("marketplace rules - better matched, idler, more successful agents score higher", () => {
    const base = { capabilityMatch: 1, load: 0, successRate: 0.5, strength: 0.5 }
    expect(bidScore(base)).toBeGreaterThan(bidScore({ ...base, load: 0.5 }))
    expect(bidScore(base)).toBeGreaterThan(bidScore({ ...base, capabilityMatch: 0.7 }))
    expect(bidScore({ ...base, successRate: 0.9 })).toBeGreaterThan(bidScore(base))
    // the wait keeps the bidders' order; a perfect bidder claims at once, whatever the trail
    const perfect = { capabilityMatch: 1, load: 0, successRate: 1, strength: 0.05 }
    expect(bidDelayMs(perfect, 100)).toBe(0)
    expect(bidDelayMs({ ...perfect, strength: 0.9 }, 100)).toBe(0)
    const waits = [base, { ...base, load: 0.5 }, { ...base, capabilityMatch: 0.7, load: 0.5 }].map((p) => bidDelayMs(p, 100))
    expect(waits[0]).toBeGreaterThan(0)
    expect(waits[1]).toBeGreaterThan(waits[0])
    expect(waits[2]).toBeGreaterThan(waits[1])
    expect(waits[2]).toBeLessThanOrEqual(100)
    // between two calls, a weaker trail makes an imperfect bidder wait longer
    expect(bidDelayMs({ ...base, strength: 0.1 }, 100)).toBeGreaterThan(bidDelayMs({ ...base, strength: 0.9 }, 100))
    expect(capabilityMatch("a.b", "a.b")).toBe(1)
    expect(capabilityMatch("a.*", "a.b")).toBe(0.7)
    expect(capabilityMatch("a.>", "a.b.c")).toBe(0.7)
    expect(capabilityMatch("a.*", "a.b.c")).toBe(0)
    expect(capabilityMatch("b", "a")).toBe(0)
  })

  it("lane puller - parses both ack subject forms", () => {
    expect(parseAckSubject("$JS.ACK.S.C.3.10.7.1795326281137478933.2")).toEqual({ stream: "S", consumer: "C", deliveryCount: 3, streamSeq: 10, consumerSeq: 7, pending: 2 })
    expect(parseAckSubject("$JS.ACK.dom.hash.S.C.1.5.5.179.0.rand")?.streamSeq).toBe(5)
    expect(parseAckSubject("_INBOX.x")).toBeUndefined()
    expect(parseAckSubject("$JS.ACK.dom.hash.S.C.2.6.4.179.9.rand")).toEqual({ stream: "S", consumer: "C", deliveryCount: 2, streamSeq: 6, consumerSeq: 4, pending: 9 })
    expect(parseAckSubject("$JS.ACK.S.C.3.10.7.179.2.x"), "ten tokens is neither form").toBeUndefined()
    expect(parseAckSubject("$JS.ACK.S.C.3.10.7"), "too short").toBeUndefined()
  })
})
