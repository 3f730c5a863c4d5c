/**
 * Agent2Agent (A2A 1.0, JSON-RPC binding) for conversational types: each one the gateway knows
 * gets an agent card and an endpoint, and an A2A conversation is one actor of the type.
 *
 *   GET  /v1/a2a/{type}/.well-known/agent-card.json   its agent card (bearer authentication, declared in the card)
 *   POST /v1/a2a/{type}                               JSON-RPC: SendMessage, SendStreamingMessage, GetTask, ...
 *
 * A message's `contextId` names the actor (`ants.<tenant>.agent.<type>.<contextId>.Chat`), so a
 * client that keeps its context keeps talking to the same conversation, which lives in the
 * actor's state (and survives its node). The text parts of the message are the `Chat` text; the
 * answer comes back as an agent message. The caller's token decides the tenant, as for every
 * other route, and A2A tasks are kept per caller.
 *
 * Streamed (`SendStreamingMessage`, answered as Server-Sent Events): the turn is an A2A task.
 * It opens `working`; the model's text deltas (the actor's model stream, as `ants ask --stream`
 * and the gateway's SSE route read it) arrive as chunks of one artifact, `reply`, appended in
 * order; the task closes `completed` with the whole answer as its status message, or `failed`
 * with the error envelope's code and message.
 */
import { randomUUID } from "node:crypto"
import type { Hono } from "hono"
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core"
import type { Context } from "hono"
import { streamSSE } from "hono/streaming"
import { Role, TaskState, type AgentCard, type Message, type Part } from "@a2a-js/sdk"
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, JsonRpcTransportHandler, ServerCallContext, validateVersion, type AgentExecutor, type ExecutionEventBus, type RequestContext, type User } from "@a2a-js/sdk/server"
import { decodeReply } from "../../subjects/envelope.ts"
import { agentSubject, isToken } from "../../subjects/grammar.ts"
import { modelStreamSubject, STREAM_HEADER } from "../../subjects/models.ts"
import { checkPayload } from "../client/messaging.ts"
import { requestReply } from "../server/reply-inbox.ts"
import type { GatewayConnections } from "./connections.ts"
import { GatewayError } from "./errors.ts"
import { tenantOf, type GatewayEnv } from "./http.ts"
import type { Caller } from "./principals.ts"
import type { TypeEntry, TypeRepository } from "./type-repository.ts"

const A2A_VERSION = "1.0"

/** The authenticated caller as the A2A SDK sees it (its tasks are kept under `userName`). */
class GatewayUser implements User {
  constructor(
    readonly caller: Caller,
    readonly tenant: string,
    /** The request is `SendStreamingMessage`: the turn is answered as a task whose reply streams. */
    readonly streaming: boolean,
  ) {}
  get isAuthenticated() {
    return true
  }
  get userName() {
    return `${this.caller.name}@${this.tenant}`
  }
}

export function agentCard(t: TypeEntry, baseUrl: string, version: string): AgentCard {
  const skills = t.tools.length > 0 ? t.tools : ["chat"]
  return {
    name: t.type,
    description: `The ANTS conversational agent type "${t.type}": each A2A context is one of its actors${t.tools.length ? `; it may call ${t.tools.join(", ")}` : ""}.`,
    supportedInterfaces: [{ url: `${baseUrl}/v1/a2a/${t.type}`, protocolBinding: "JSONRPC", tenant: "", protocolVersion: A2A_VERSION }],
    provider: undefined,
    version,
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: { bearer: { scheme: { $case: "httpAuthSecurityScheme", value: { description: "a token of the gateway's tokens file", scheme: "bearer", bearerFormat: "" } } } },
    securityRequirements: [{ schemes: { bearer: { list: [] } } }],
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain"],
    skills: skills.map((name) => ({ id: name, name, description: name === "chat" ? `a conversation with ${t.type}` : `${t.type} may use the tool ${name}`, tags: [t.type], examples: [], inputModes: ["text/plain"], outputModes: ["text/plain"], securityRequirements: [] })),
    signatures: [],
  }
}

function textOf(m: Message): string {
  return m.parts
    .map((p) => (p.content?.$case === "text" ? p.content.value : p.content?.$case === "data" ? JSON.stringify(p.content.value) : ""))
    .filter((s) => s !== "")
    .join("\n")
}

const textPart = (value: string): Part => ({ content: { $case: "text", value }, metadata: undefined, filename: "", mediaType: "text/plain" })

function agentMessage(contextId: string, taskId: string, text: string, metadata?: Record<string, unknown>): Message {
  return { messageId: randomUUID(), contextId, taskId, role: Role.ROLE_AGENT, parts: [textPart(text)], metadata, extensions: [], referenceTaskIds: [] }
}

interface ChatAnswer {
  readonly text: string
  readonly turn: string
  readonly offline: boolean
}

/** One `Chat` ask; with `streamId`, the actor's model writes its deltas to that stream as it goes. */
async function askChat(nc: NatsConnection, subject: string, text: string, timeoutMs: number, streamId?: string): Promise<ChatAnswer> {
  let h: ReturnType<typeof natsHeaders> | undefined
  if (streamId !== undefined) {
    h = natsHeaders()
    h.set(STREAM_HEADER, streamId)
  }
  const body = Buffer.from(JSON.stringify({ text }))
  // over the server's max_payload: too_large with the sizes, before anything is sent
  checkPayload(nc, subject, body)
  const reply = decodeReply((await requestReply(nc, subject, body, timeoutMs, h)).data)
  if (!reply.ok) throw new GatewayError(reply.error.code, reply.error.message)
  return reply.value as ChatAnswer
}

const turnStatus = (state: TaskState, message?: Message) => ({ state, message, timestamp: new Date().toISOString() })

/** A streamed turn: the task opens working, the deltas are chunks of the `reply` artifact, the task closes with the answer. */
async function streamTurn(ctx: RequestContext, bus: ExecutionEventBus, nc: NatsConnection, tenant: string, subject: string, text: string, timeoutMs: number): Promise<void> {
  const { taskId, contextId } = ctx
  bus.publish(AgentEvent.task({ id: taskId, contextId, status: turnStatus(TaskState.TASK_STATE_WORKING), artifacts: [], history: [ctx.userMessage], metadata: undefined }))
  const streamId = randomUUID().replace(/-/g, "")
  let chunks = 0
  const deltas = nc.subscribe(modelStreamSubject(tenant, streamId), {
    callback: (_e, m) => {
      let ev: { delta?: { type?: string; text?: string } }
      try {
        ev = m.json()
      } catch {
        return // not a delta: nothing to stream
      }
      if (ev.delta?.type !== "text" || !ev.delta.text) return
      bus.publish(
        AgentEvent.artifactUpdate({
          taskId,
          contextId,
          artifact: { artifactId: "reply", name: "reply", description: "the answer as the model writes it", parts: [textPart(ev.delta.text)], metadata: undefined, extensions: [] },
          append: chunks++ > 0,
          lastChunk: false,
          metadata: undefined,
        }),
      )
    },
  })
  try {
    // the stream's subscription is on the server before the ask can produce a delta
    await nc.flush()
    const answer = await askChat(nc, subject, text, timeoutMs, streamId)
    // the last deltas travel just behind the reply
    await nc.flush()
    deltas.unsubscribe()
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: turnStatus(TaskState.TASK_STATE_COMPLETED, agentMessage(contextId, taskId, answer.text, { turn: answer.turn, offline: answer.offline })), metadata: { chunks } }))
  } catch (e) {
    deltas.unsubscribe()
    bus.publish(failedStatus(taskId, contextId, e))
  }
  bus.finished()
}

/** The status that closes a streamed turn's task failed: the error's envelope code and message. */
function failedStatus(taskId: string, contextId: string, e: unknown) {
  const code = (e as { code?: string }).code
  const message = `${code ? `${code}: ` : ""}${(e as Error)?.message ?? String(e)}`
  return AgentEvent.statusUpdate({ taskId, contextId, status: turnStatus(TaskState.TASK_STATE_FAILED, agentMessage(contextId, taskId, message)), metadata: code ? { code } : undefined })
}

/** A streamed turn that fails before it is asked: its task opens and closes failed. */
function failTurn(ctx: RequestContext, bus: ExecutionEventBus, e: unknown): void {
  bus.publish(AgentEvent.task({ id: ctx.taskId, contextId: ctx.contextId, status: turnStatus(TaskState.TASK_STATE_WORKING), artifacts: [], history: [ctx.userMessage], metadata: undefined }))
  bus.publish(failedStatus(ctx.taskId, ctx.contextId, e))
  bus.finished()
}

function executor(type: string, connections: GatewayConnections, timeoutMs: number): AgentExecutor {
  return {
    async execute(ctx, bus) {
      const user = ctx.context.user as GatewayUser
      const id = ctx.contextId
      if (!isToken(id)) {
        const bad = new GatewayError("invalid_request", `contextId "${id}" cannot name an actor: use letters, digits, _ and - (at most 128)`)
        // streamed, the caller's mistake closes its task failed (thrown, the SDK would log it as the agent's failure)
        if (user.streaming) return failTurn(ctx, bus, bad)
        throw bad
      }
      const text = textOf(ctx.userMessage)
      const nc = await connections.of(user.caller)
      const subject = agentSubject({ tenant: user.tenant, type, id, tag: "Chat" })
      if (user.streaming) return streamTurn(ctx, bus, nc, user.tenant, subject, text, timeoutMs)
      let answer: ChatAnswer
      try {
        answer = await askChat(nc, subject, text, timeoutMs)
      } catch (e) {
        throw new Error(`${(e as { code?: string }).code ?? "error"}: ${(e as Error).message}`)
      }
      bus.publish(AgentEvent.message(agentMessage(id, "", answer.text, { turn: answer.turn, offline: answer.offline })))
      bus.finished()
    },
    async cancelTask() {
      // a turn is one ask: there is nothing running here to cancel
    },
  }
}

/** A JSON-RPC stream as Server-Sent Events, one `data:` line a response (what the A2A clients read); an error after the first event is an `error` event. */
function sseOf(c: Context<GatewayEnv>, id: string | number | null, first: IteratorResult<unknown>, rest: AsyncIterator<unknown>) {
  return streamSSE(c, async (sse) => {
    try {
      if (!first.done) await sse.writeSSE({ data: JSON.stringify(first.value) })
      for (let r = await rest.next(); !r.done; r = await rest.next()) await sse.writeSSE({ data: JSON.stringify(r.value) })
    } catch (e) {
      await sse.writeSSE({ event: "error", data: JSON.stringify({ jsonrpc: "2.0", id, error: JsonRpcTransportHandler.mapToJSONRPCError(e) }) })
    }
  })
}

export function a2aRoutes(app: Hono<GatewayEnv>, repo: TypeRepository, connections: GatewayConnections, o: { version: string; timeoutMs: number }): void {
  const handlers = new Map<string, { card: (base: string) => AgentCard; transport: (base: string) => JsonRpcTransportHandler }>()
  for (const t of repo.types.filter((x) => x.conversational)) {
    let made: { base: string; transport: JsonRpcTransportHandler } | undefined
    const store = new InMemoryTaskStore()
    const exec = executor(t.type, connections, o.timeoutMs)
    handlers.set(t.type, {
      card: (base) => agentCard(t, base, o.version),
      transport: (base) => {
        if (made?.base !== base) made = { base, transport: new JsonRpcTransportHandler(new DefaultRequestHandler(agentCard(t, base, o.version), store, exec)) }
        return made.transport
      },
    })
  }
  const of = (type: string) => {
    const h = handlers.get(type)
    if (!h) throw new GatewayError("unknown_type", `"${type}" is not a conversational type the gateway knows (A2A types: ${[...handlers.keys()].join(", ") || "none"})`)
    return h
  }
  const baseOf = (url: string) => new URL(url).origin

  app.get("/v1/a2a/:type/.well-known/agent-card.json", (c) => c.json(of(c.req.param("type")).card(baseOf(c.req.url))))

  app.post("/v1/a2a/:type", async (c) => {
    const h = of(c.req.param("type"))
    const tenant = tenantOf(c)
    const base = baseOf(c.req.url)
    const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>
    const context = new ServerCallContext({ user: new GatewayUser(c.get("caller"), tenant, body.method === "SendStreamingMessage"), requestedVersion: c.req.header("a2a-version") || undefined })
    try {
      validateVersion(context.requestedVersion, h.card(base), "JSONRPC")
    } catch (e) {
      return c.json({ jsonrpc: "2.0", id: (body.id as string | number | undefined) ?? null, error: JsonRpcTransportHandler.mapToJSONRPCError(e) })
    }
    const id = (body.id as string | number | undefined) ?? null
    const r = await h.transport(base).handle(body, context)
    if (typeof (r as AsyncGenerator)[Symbol.asyncIterator] === "function") {
      const it = (r as AsyncGenerator<unknown>)[Symbol.asyncIterator]()
      // an error before the first event is a plain JSON-RPC error, as for any other method
      let first: IteratorResult<unknown>
      try {
        first = await it.next()
      } catch (e) {
        return c.json({ jsonrpc: "2.0", id, error: JsonRpcTransportHandler.mapToJSONRPCError(e) })
      }
      return sseOf(c, id, first, it)
    }
    return c.json(r)
  })
}
