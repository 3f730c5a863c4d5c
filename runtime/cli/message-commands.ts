/**
 * `ants ask`, `ants tell` and `ants wake` (declared in commands.ts): one message to an agent's
 * subject (or, for a wake by type, to `ants.<tenant>.wake.<type>`), as any NATS client would send it. The subject is checked before anything is sent,
 * so a token the server would drop the whole connection for never leaves the machine.
 */
import type { NatsConnection } from "@nats-io/nats-core"
import { decodeReply } from "../../subjects/envelope.ts"
import { agentSubject, parseAgentSubject, SubjectError } from "../../subjects/grammar.ts"
import { wakeTypeSubject } from "../../subjects/wake.ts"
import type { Parsed } from "./command-spec.ts"
import type { ASK, TELL, WAKE } from "./commands.ts"
import { CliError } from "./cli-error.ts"
import type { Io } from "./io.ts"
import { UsageError } from "./usage-error.ts"

export interface MessageIo extends Io {
  readonly nc: NatsConnection
  readonly json: boolean
}

function bodyArg(raw: string | undefined): Uint8Array {
  if (raw === undefined || raw === "") return new TextEncoder().encode("{}")
  try {
    JSON.parse(raw)
  } catch (e) {
    throw new UsageError(`the message must be JSON (got ${raw}): ${(e as Error).message}. Quote it in the shell: '{"text":"hi"}'`)
  }
  return new TextEncoder().encode(raw)
}

/** Checks the subject and the body; a usage error before connecting. */
export function checkMessage(args: ReadonlyArray<string>): { subject: string; body: Uint8Array } {
  const [subject, raw] = args as [string, string | undefined]
  try {
    parseAgentSubject(subject)
  } catch (e) {
    throw new UsageError((e as SubjectError).message)
  }
  return { subject, body: bodyArg(raw) }
}

export async function runAsk(parsed: Parsed<(typeof ASK)["options"]>, io: MessageIo): Promise<number> {
  const { subject, body } = checkMessage(parsed.args)
  const stream = parsed.values.stream
  const timeout = parsed.values.timeout ?? (stream ? 60_000 : 5000)
  let env
  try {
    if (stream) env = await (await import("./ask-stream.ts")).askStreaming(io.nc, subject, body, timeout, io.json, io)
    else env = decodeReply((await io.nc.request(subject, body, { timeout })).data)
  } catch (e) {
    const noResponders = (e as Error).message?.includes("503") || (e as { isNoResponders?: () => boolean }).isNoResponders?.()
    env = noResponders
      ? { ok: false as const, error: { code: "unavailable" as const, message: `no runtime node serves ${subject}: start one with \`npx ants node --agents ./actors/examples/index.ts\`` } }
      : { ok: false as const, error: { code: "timeout" as const, message: `no reply within ${timeout} ms` } }
  }
  io.out(io.json ? JSON.stringify(env) : JSON.stringify(env, null, 2))
  return env.ok ? 0 : 1
}

export async function runTell(parsed: Parsed<(typeof TELL)["options"]>, io: MessageIo): Promise<number> {
  const { subject, body } = checkMessage(parsed.args)
  io.nc.publish(subject, body)
  await io.nc.flush()
  io.out(io.json ? JSON.stringify({ ok: true, subject }) : `sent to ${subject}`)
  return 0
}

/**
 * Where a wake goes and what it carries: the actor's `_Wake` subject (an id), or the type's
 * wake-by-type subject (no id); a usage error before connecting.
 */
export function wakeSubject(parsed: Parsed<(typeof WAKE)["options"]>): { subject: string; body: Uint8Array; byType: boolean } {
  const [type, id] = parsed.args as [string, string | undefined]
  const v = parsed.values
  if (id !== undefined && v.new) throw new UsageError(`--new wakes a new instance and takes no id: \`npx ants wake ${type} --new\`, or \`npx ants wake ${type} ${id}\``)
  const body = {
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
    ...(v["keep-alive"] !== undefined ? { keepAliveMinutes: v["keep-alive"] } : {}),
    ...(v.new ? { new: true } : {}),
  }
  try {
    const subject = id === undefined ? wakeTypeSubject(v.tenant, type) : agentSubject({ tenant: v.tenant, type, id, tag: "_Wake" })
    return { subject, body: new TextEncoder().encode(JSON.stringify(body)), byType: id === undefined }
  } catch (e) {
    throw new UsageError((e as SubjectError).message)
  }
}

export async function runWake(parsed: Parsed<(typeof WAKE)["options"]>, io: MessageIo): Promise<number> {
  const [type, id] = parsed.args as [string, string | undefined]
  const { subject, body, byType } = wakeSubject(parsed)
  const what = id === undefined ? `an instance of ${type}` : `${type}/${id}`
  const r = await io.nc.request(subject, body, { timeout: parsed.values.timeout }).catch((e: Error) => {
    throw new CliError(`no node answered for ${what}: ${e.message}. Is a node hosting "${type}" running?`, 1)
  })
  const env = decodeReply(r.data)
  if (io.json) io.out(JSON.stringify(env))
  else if (!env.ok) io.out(`could not wake ${what}: ${env.error.code}: ${env.error.message}`)
  else {
    const v = env.value as { id?: string; created?: boolean; lifecycle?: string }
    const name = byType ? `${type}/${v.id}${v.created ? " (new)" : ""}` : `${type}/${id}`
    io.out(`${name} is awake (${JSON.stringify(env.value)})`)
  }
  return env.ok ? 0 : 1
}
