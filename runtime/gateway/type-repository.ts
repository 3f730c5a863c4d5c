/**
 * The agent repository the gateway serves: the agent types it was given (the same definitions
 * the swarm's nodes host), each with its protocol as JSON Schemas, the capabilities it serves,
 * its tier and whether it is conversational (then it also speaks Agent2Agent). The nodes'
 * membership records add where each type is hosted now (for operators: node inspection is
 * theirs only).
 *
 * `typeSchemas` is what `ants schema <type>` prints: every tag's message and reply schema,
 * self-contained (each carries its own `$defs`), for clients written in other languages.
 */
import { capabilityEntries, type AgentDefinition } from "../agent/define-agent.ts"
import { TURN_SPEC_EXTENSION } from "../agent/conversational-agent.ts"

export interface TagSchemas {
  readonly message: Record<string, unknown>
  readonly reply: Record<string, unknown>
  readonly description?: string
}

export interface TypeSchemas {
  readonly type: string
  readonly tags: Readonly<Record<string, TagSchemas>>
}

export interface TypeEntry extends TypeSchemas {
  readonly tier: string
  readonly capabilities: ReadonlyArray<string>
  readonly conversational: boolean
  /** Tool names a conversational type's model may call. */
  readonly tools: ReadonlyArray<string>
  /** Topics the type subscribes to. */
  readonly topics: ReadonlyArray<string>
}

export function typeSchemas(def: AgentDefinition<any, any>): TypeSchemas {
  const js = def.protocol.jsonSchema()
  const tags: Record<string, TagSchemas> = {}
  for (const tag of def.protocol.tags) {
    const s = js[tag]!
    tags[tag] = { message: s.message as Record<string, unknown>, reply: s.reply as Record<string, unknown>, ...(s.description ? { description: s.description } : {}) }
  }
  return { type: def.type, tags }
}

export function isConversational(def: AgentDefinition<any, any>): boolean {
  return def.extensions[TURN_SPEC_EXTENSION] !== undefined
}

function entryOf(def: AgentDefinition<any, any>): TypeEntry {
  const spec = def.extensions[TURN_SPEC_EXTENSION] as { tools?: ReadonlyArray<{ spec: { name: string; description?: string } }> } | undefined
  return {
    ...typeSchemas(def),
    tier: def.tier ?? "on_demand",
    capabilities: capabilityEntries(def).map((c) => c.capability),
    conversational: spec !== undefined,
    tools: (spec?.tools ?? []).map((t) => t.spec.name),
    topics: (def.topics ?? []).map((t) => t.pattern),
  }
}

export interface TypeRepository {
  readonly types: ReadonlyArray<TypeEntry>
  get(type: string): TypeEntry | undefined
  definition(type: string): AgentDefinition<any, any> | undefined
}

export function typeRepository(agents: ReadonlyArray<AgentDefinition<any, any>>): TypeRepository {
  const defs = new Map(agents.map((a) => [a.type, a]))
  const entries = new Map([...defs.values()].map((d) => [d.type, entryOf(d)]))
  const types = [...entries.values()].sort((a, b) => a.type.localeCompare(b.type))
  return { types, get: (t) => entries.get(t), definition: (t) => defs.get(t) }
}
