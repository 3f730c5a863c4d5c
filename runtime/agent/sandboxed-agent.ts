/**
 * `defineSandboxedAgent`: an agent type whose handlers are module source run in the node's
 * sandbox (runtime/sandbox), for code the node must not trust (generated, third-party, a
 * tenant's own). The result is an ordinary `AgentDefinition` whose handlers call
 * `ctx.sandbox.run`: the engine hosts it like any other type, with no special case.
 *
 * The module exports one async function per tag of the protocol, named after the tag. Each is
 * called with `{ message, state, self }` (JSON: the decoded message, the actor's state, its
 * address) and `{ env }`, and returns `{ reply, state? }`: the reply is checked against the
 * protocol like any handler's; a returned `state` replaces the actor's (checkpointed as usual),
 * an absent one leaves it unchanged. The code sees what its level gives and nothing of the node:
 * no `ctx`, no messaging, no other actor, no other tenant. A run stopped by a limit, or code that
 * throws, fails the message (`handler_failed`, the message naming the SandboxError code) and
 * leaves the state as it was; the default supervision then resumes the actor, which goes on
 * with its next message.
 */
import { AgentDefinitionError, defineAgent, type AgentDefinition, type AgentOptions, type Handlers } from "./define-agent.ts"
import { defineProtocol, type Protocol, type ProtocolSpec } from "./protocol.ts"
import type { ActorContext } from "./actor-context.ts"
import { allowedOrigins, isSandboxError, isSandboxLevel, resolveLimits, SandboxError, SANDBOX_LEVELS, type SandboxLevel, type SandboxLimits } from "../sandbox/mod.ts"
import type { Decider } from "../../supervisors/spec.ts"

export interface SandboxedAgentSpec<P extends ProtocolSpec, S> extends Omit<AgentOptions, "offload" | "capabilities"> {
  /** The type name: a subject token (`[A-Za-z0-9_-]+`). */
  readonly type: string
  readonly protocol: P | Protocol<P>
  /** ES module text exporting one async function per tag: `export async function Tag({ message, state, self }, { env }) { return { reply, state } }`. */
  readonly source: string
  /** Default `restricted`. */
  readonly level?: SandboxLevel
  /** Over the level's (`SANDBOX_LEVELS`); the same for every message of the type. */
  readonly limits?: Partial<SandboxLimits>
  /** Origins the handlers' `fetch` may reach (none by default). */
  readonly fetchAllow?: ReadonlyArray<string>
  /** Read-only values the handlers see as `env`. */
  readonly env?: Readonly<Record<string, string>>
  /** Initial state of a fresh actor (JSON). */
  readonly initialState?: (address: { tenant: string; id: string }) => S
  readonly extensions?: Readonly<Record<string, unknown>>
}

/** What `extensions.sandboxed` says of a sandboxed type (read by inspection and tests). */
export interface SandboxedExtension {
  readonly level: SandboxLevel
  readonly limits: SandboxLimits
}

/** Resume on a sandbox failure (the state was not touched), restart on anything else. */
export const sandboxedDecider: Decider = (error) => (isSandboxError(error) ? "resume" : "restart")

/** Whether the source plainly exports `name` (a function, a binding, or in an export list). */
function exportsName(source: string, name: string): boolean {
  const n = name.replace(/[^A-Za-z0-9_$]/g, "")
  return new RegExp(`export\\s+(?:async\\s+)?function\\s*\\*?\\s*${n}\\b|export\\s+(?:const|let|var)\\s+${n}\\b|export\\s*\\{[^}]*\\b${n}\\b[^}]*\\}`).test(source)
}

export function defineSandboxedAgent<const P extends ProtocolSpec, S = undefined>(spec: SandboxedAgentSpec<P, S>): AgentDefinition<P, S> {
  const { source, level = "restricted", limits: asked, fetchAllow, env, ...rest } = spec
  const where = `agent "${spec.type}"`
  if (typeof source !== "string" || source.trim() === "") throw new AgentDefinitionError(`${where}: source must be the text of an ES module`)
  if (!isSandboxLevel(level)) throw new AgentDefinitionError(`${where}: level must be one of ${Object.keys(SANDBOX_LEVELS).join(", ")}`)
  let limits: SandboxLimits
  try {
    limits = resolveLimits(level, asked)
    allowedOrigins(fetchAllow)
  } catch (e) {
    throw new AgentDefinitionError(`${where}: ${(e as Error).message}`)
  }
  for (const [k, v] of Object.entries(env ?? {})) if (typeof v !== "string") throw new AgentDefinitionError(`${where}: env.${k} must be a string`)
  let protocol: Protocol<P>
  try {
    protocol = (spec.protocol as Protocol<P>).compiled instanceof Map ? (spec.protocol as Protocol<P>) : defineProtocol(spec.protocol as P)
  } catch (e) {
    throw new AgentDefinitionError(`${where}: ${(e as Error).message}`)
  }
  const tags = protocol.tags
  for (const tag of tags) {
    if (!exportsName(source, tag)) throw new AgentDefinitionError(`${where}: the source exports no handler for tag "${tag}" (export async function ${tag}({ message, state }) { return { reply, state } })`)
  }
  const handlers: Record<string, (message: unknown, ctx: ActorContext<S>) => Promise<unknown>> = {}
  for (const tag of tags) {
    handlers[tag] = async (message, ctx) => {
      const out = await ctx.sandbox.run({ level, source, entry: tag, args: { message, state: ctx.state === undefined ? null : ctx.state, self: ctx.self }, limits, fetchAllow, env })
      if (out === null || typeof out !== "object" || Array.isArray(out) || !Object.hasOwn(out, "reply")) {
        throw new SandboxError("not_json", `${spec.type}.${tag} returned ${out === null ? "null" : Array.isArray(out) ? "an array" : typeof out}; a sandboxed handler returns { reply, state? }`)
      }
      if (Object.hasOwn(out, "state")) ctx.state = (out as { state: S }).state
      return (out as { reply: unknown }).reply
    }
  }
  return defineAgent<P, S>({
    ...rest,
    protocol,
    // the sandbox stops the code at its wall limit, before the engine's deadline gives up on it
    handlerTimeoutMs: rest.handlerTimeoutMs ?? limits.wallMs + 5_000,
    supervision: { ...rest.supervision, decider: rest.supervision?.decider ?? sandboxedDecider },
    handlers: handlers as unknown as Handlers<P, S>,
    extensions: { ...rest.extensions, sandboxed: { level, limits } satisfies SandboxedExtension },
  })
}
