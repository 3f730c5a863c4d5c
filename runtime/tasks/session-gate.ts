/**
 * Session order: tasks sharing a session id run one at a time, in submission order, across
 * every worker. A session task may start only when it is the oldest task of its session still in
 * the work queue (acked tasks leave it), read with one direct get (`next_by_subj`), and no task
 * of that session is running here. A task that is not next waits here with its claim kept alive,
 * instead of churning through redeliveries: the gate asks for the session's head every
 * `retryMs` (one read per session, not per task) and at once when a task of that session
 * finishes here. Past `limit` held tasks, more are handed back to the server with a delay.
 */
import type { JetStreamManager } from "@nats-io/jetstream"
import { TASKS_STREAM } from "../../subjects/tasks.ts"
import type { Delivery } from "./lane-puller.ts"

export class SessionGate {
  private readonly busy = new Set<string>()
  private readonly held = new Map<string, Delivery[]>()
  private heldCount = 0
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly retryMs: number,
    private readonly limit: number,
    /** Called with a held task that has become its session's next. */
    private readonly release: (d: Delivery) => void,
  ) {}

  /** True when `d` may start now; otherwise it is held (or handed back) and false. Call `done` after a true. */
  async admit(d: Delivery): Promise<boolean> {
    const subject = d.msg.subject
    if (!this.busy.has(subject) && (await this.head(subject)) === d.info.streamSeq && !this.busy.has(subject)) {
      this.busy.add(subject)
      return true
    }
    this.hold(d)
    return false
  }

  done(d: Delivery): void {
    this.busy.delete(d.msg.subject)
    this.check(d.msg.subject)
  }

  /** Keeps the claims of held tasks alive. */
  keepAlive(): void {
    for (const list of this.held.values()) for (const d of list) d.working()
  }

  /** Hands every held task back (stop). */
  releaseAll(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    for (const list of this.held.values()) for (const d of list) d.nak()
    this.held.clear()
    this.heldCount = 0
  }

  private async head(subject: string): Promise<number | undefined> {
    const head = await this.jsm.direct.getMessage(TASKS_STREAM, { next_by_subj: subject, seq: 0 }).catch(() => null)
    return head?.seq
  }

  private hold(d: Delivery): void {
    if (this.heldCount >= this.limit) return d.nak(this.retryMs)
    const list = this.held.get(d.msg.subject) ?? []
    list.push(d)
    list.sort((a, b) => a.info.streamSeq - b.info.streamSeq)
    this.held.set(d.msg.subject, list)
    this.heldCount++
    this.timer ??= setInterval(() => {
      for (const subject of this.held.keys()) this.check(subject)
    }, this.retryMs)
  }

  private check(subject: string): void {
    const list = this.held.get(subject)
    if (!list || list.length === 0 || this.busy.has(subject)) return
    void this.head(subject).then((head) => {
      const first = list[0]
      if (!first || this.busy.has(subject) || (head !== undefined && head !== first.info.streamSeq)) return
      list.shift()
      this.heldCount--
      if (list.length === 0) this.held.delete(subject)
      if (this.held.size === 0 && this.timer) {
        clearInterval(this.timer)
        this.timer = undefined
      }
      this.release(first)
    })
  }
}
