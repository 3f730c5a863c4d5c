/**
 * Agent2Agent (A2A 1.0, JSON-RPC binding) for conversational types: each one the gateway knows
 * gets an agent card and an endpoint, and an A2A conversation is one actor of the type.
 *
 *   GET  /v1/a2a/{type}/.well-known/agent-card.json   its agent card (bearer authentication, declared in the card)
 *   POST /v1/a2a/{type}                               JSON-RPC: SendMessage, GetTask, ...
 *
 * A message's `contextId` names the actor (`ants.<tenant>.agent.<type>.<contextId>.Chat`), so a
 * client that keeps its context keeps talking to the same conversation, which lives in the
 * actor's state (and survives its node). The text parts of the message are the `Chat` text; the
 * answer comes back as an agent message. The caller's token decides the tenant, as for every
 * other route, and A2A tasks are kept per caller.
 */
import { randomUUID } from "node:crypto"
import type { Hono } from "hono"
import { Role, type AgentCard, type Message } from "@a2a-js/sdk"
import { DefaultRequestHandler, InMemoryTaskStore, JsonRpcTransportHandler, ServerCallContext, validateVersion, type AgentExecutor, type User } from "@a2a-js/sdk/server"
import { decodeReply } from "../../subjects/envelope.ts"
import { agentSubject, isToken } from "../../subjects/grammar.ts"
import { requestReply } from "../client/reply-inbox.ts"
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
    capabilities: { streaming: false, pushNotifications: false, extensions: [], extendedAgentCard: false },
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

function executor(type: string, connections: GatewayConnections, timeoutMs: number): AgentExecutor {
  return {
    async execute(ctx, bus) {
      const user = ctx.context.user as GatewayUser
      const id = ctx.contextId
      if (!isToken(id)) throw new GatewayError("invalid_request", `contextId "${id}" cannot name an actor: use letters, digits, _ and - (at most 128)`)
      const text = textOf(ctx.userMessage)
      const nc = await connections.of(user.caller)
      const subject = agentSubject({ tenant: user.tenant, type, id, tag: "Chat" })
      const reply = decodeReply((await requestReply(nc, subject, Buffer.from(JSON.stringify({ text })), timeoutMs)).data)
      if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`)
      const answer = reply.value as { text: string; turn: string; offline: boolean }
      bus.publish({
        kind: "message",
        data: {
          messageId: randomUUID(),
          contextId: id,
          taskId: "",
          role: Role.ROLE_AGENT,
          parts: [{ content: { $case: "text", value: answer.text }, metadata: undefined, filename: "", mediaType: "text/plain" }],
          metadata: { turn: answer.turn, offline: answer.offline },
          extensions: [],
          referenceTaskIds: [],
        },
      })
      bus.finished()
    },
    async cancelTask() {
      // a turn is one ask: there is nothing running here to cancel
    },
  }
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
    const context = new ServerCallContext({ user: new GatewayUser(c.get("caller"), tenant), requestedVersion: c.req.header("a2a-version") || undefined })
    try {
      validateVersion(context.requestedVersion, h.card(base), "JSONRPC")
    } catch (e) {
      return c.json({ jsonrpc: "2.0", id: (body.id as string | number | undefined) ?? null, error: JsonRpcTransportHandler.mapToJSONRPCError(e) })
    }
    const r = await h.transport(base).handle(body, context)
    if (typeof (r as AsyncGenerator)[Symbol.asyncIterator] === "function") {
      // streaming methods are not offered (the card says streaming: false)
      return c.json({ jsonrpc: "2.0", id: (body.id as string | number | undefined) ?? null, error: { code: -32004, message: "streaming is not supported by this agent" } })
    }
    return c.json(r)
  })
}
