/**
 * A swarm behind a gateway, for the gateway tests: a real nats-server with the shipped
 * configuration and principals for tenants acme and globex, one node hosting the example
 * counter and assistant (offline model provider) and a task worker of the test, and a gateway
 * listening on a free port with a token per tenant and an operator token.
 */
import { randomBytes } from "node:crypto"
import { defineAgent } from "../../runtime/agent/define-agent.ts"
import { TaskRejected } from "../../runtime/tasks/errors.ts"
import { createGateway, type Gateway, type GatewayListener } from "../../runtime/gateway/mod.ts"
import { startNode, type AntsNode } from "../../runtime/node/node.ts"
import { assistant, counter, echo } from "../../actors/examples/index.ts"
import { confWithTenants, type AuthConf } from "../helpers/nats-conf.ts"
import { natsFixture, type NatsServer } from "../helpers/nats.ts"

/** Keys of `gw.work` tasks that fail while they are in this set (`{failWhile: key}`): a test makes a dead letter, then lets its resubmission pass. */
export const FAILING = new Set<string>()

/** A task type of the tests: `gw.work` `{fail?, failWhile?, n?}` in tenants default and acme; a failing task is dead-lettered at once. */
export const gwWorker = defineAgent({
  type: "gw_worker",
  protocol: {},
  handlers: {},
  capabilities: [
    {
      capability: "gw.work",
      tenants: ["default", "acme"],
      maxAttempts: 1,
      handle: (payload: { fail?: boolean; failWhile?: string; n?: number }) => {
        if (payload?.fail) throw new TaskRejected("asked to fail")
        if (payload?.failWhile !== undefined && FAILING.has(payload.failWhile)) throw new TaskRejected(`failing while ${payload.failWhile} is set`)
        return { doubled: (payload?.n ?? 0) * 2 }
      },
    },
  ],
})

export const AGENTS = [counter, echo, assistant, gwWorker]

export interface GatewaySwarm {
  readonly auth: AuthConf
  readonly server: NatsServer
  readonly node: AntsNode
  readonly gateway: Gateway
  readonly listener: GatewayListener
  readonly tokens: { readonly acme: string; readonly globex: string; readonly operator: string }
  /** A fetch against the gateway with `token` as bearer (none when undefined). */
  call(token: string | undefined, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>
  stop(): Promise<void>
}

const newToken = () => randomBytes(24).toString("hex")

export async function gatewaySwarm(): Promise<GatewaySwarm> {
  const auth = confWithTenants(["acme", "globex"])
  const server = await natsFixture({ config: auth.config })
  const node = await startNode({ agents: AGENTS, nats: server.url, credentials: { nkey: auth.seed("node") }, authDir: auth.authDir, memory: false, logger: () => {} })
  const tokens = { acme: newToken(), globex: newToken(), operator: newToken() }
  const gateway = await createGateway({
    nats: server.url,
    agents: AGENTS,
    principals: [
      { token: tokens.acme, tenant: "acme", credentials: { nkey: auth.seed("acme") }, name: "acme" },
      { token: tokens.globex, tenant: "globex", credentials: { nkey: auth.seed("globex") }, name: "globex" },
      { token: tokens.operator, operator: true, credentials: { nkey: auth.seed("operator") }, name: "ops" },
    ],
  })
  const listener = await gateway.serve({ port: 0 })
  return {
    auth,
    server,
    node,
    gateway,
    listener,
    tokens,
    async call(token, method, path, body, headers = {}) {
      const send = () =>
        fetch(listener.url + path, {
          method,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
          ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
        })
      // On a loaded machine the node can miss its own heartbeat and answer `unavailable ... retry`
      // for a moment (README "Network partitions"); the tests are about the gateway, so they retry
      // that answer as a client should, and see every other answer as it came.
      for (let deadline = Date.now() + 20_000; ; ) {
        const r = await send()
        if (r.status !== 503 || Date.now() > deadline) return r
        const text = await r.clone().text()
        if (!/lost touch with the swarm/.test(text)) return r
        await new Promise((w) => setTimeout(w, 200))
      }
    },
    async stop() {
      await gateway.close()
      await node.drain()
      await server.stop()
    },
  }
}
