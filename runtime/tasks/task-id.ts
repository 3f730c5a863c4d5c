/**
 * The id of a delivered task: its `Ants-Task-Id` header (the runtime sets it), else the key of
 * its `Nats-Msg-Id` (a plain client's `<tenant>.<key>`, or a bare key), else `s<stream seq>`.
 */
import { isToken, unscopedMsgId } from "../../subjects/grammar.ts"
import { TaskHeaders } from "../../subjects/tasks.ts"
import type { Delivery } from "./lane-puller.ts"

export function deliveredTaskId(d: Delivery): string {
  const h = d.msg.headers
  const msgId = h?.get(TaskHeaders.MsgId)
  const fromHeader = h?.get(TaskHeaders.TaskId) || (msgId ? unscopedMsgId(d.msg.subject.split(".")[1] ?? "", msgId) : undefined)
  return fromHeader && isToken(fromHeader) ? fromHeader : `s${d.info.streamSeq}`
}
