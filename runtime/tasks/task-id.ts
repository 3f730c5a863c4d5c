/**
 * The id of a stored task: its `Ants-Task-Id` header (the runtime sets it), else the key of its
 * `Nats-Msg-Id` (a plain client's `<tenant>.<key>`, or a bare key), else `s<stream seq>`. A
 * delivery and a status lookup in the stream (status-lookup.ts) read it the same way.
 */
import { isToken, unscopedMsgId } from "../../subjects/grammar.ts"
import { TaskHeaders } from "../../subjects/tasks.ts"
import type { MsgHdrs } from "@nats-io/nats-core"
import type { Delivery } from "./lane-puller.ts"

export function deliveredTaskId(d: Delivery): string {
  return storedTaskId(d.msg.headers, d.msg.subject, d.info.streamSeq)
}

export function storedTaskId(h: MsgHdrs | undefined, subject: string, seq: number): string {
  const msgId = h?.get(TaskHeaders.MsgId)
  const fromHeader = h?.get(TaskHeaders.TaskId) || (msgId ? unscopedMsgId(subject.split(".")[1] ?? "", msgId) : undefined)
  return fromHeader && isToken(fromHeader) ? fromHeader : `s${seq}`
}
