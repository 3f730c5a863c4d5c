/**
 * Registry tools for agents, by name: `registryTool("add", { description, parameters })` is a
 * model `Tool` whose call runs the registry's tool `add` of the calling actor's tenant (through
 * the actor's tenant scope: the engine's `runTool` port), in the sandbox, with the registry's
 * validation and statistics. `registryTools(client, names?)` reads the descriptions and schemas
 * from the registry instead (a connection at hand), and runs through that client outside a node.
 *
 * Either passes the turn's gate like any tool: declare `impact: "high"` (or name it in
 * `highImpact`) for one that moves money, deletes or sends, and it waits for approval unless
 * the tenant's policy allows it. A registry tool run from another tool's code (the `runTool`
 * port) passes the same gate under its own name.
 */
import type { Tool, ToolImpact } from "../models/mod.ts"
import type { ToolsClient } from "./client.ts"
import { ToolError } from "./errors.ts"
import { jsonTool } from "./json-tool.ts"
import { toJsonSchema, type ToolSchema } from "./schema.ts"

export function registryTool(name: string, spec: { readonly description: string; readonly parameters: ToolSchema; readonly impact?: ToolImpact }): Tool {
  return jsonTool({
    name,
    ...(spec.impact ? { impact: spec.impact } : {}),
    description: spec.description,
    schema: toJsonSchema(spec.parameters),
    run: async (args, ctx) => {
      const run = ctx.askAgent.runTool
      if (!run) throw new ToolError("unavailable", `registry tool ${name} runs in a node's actor (its tenant's registry); here there is none: use registryTools(toolsClient(nc, tenant))`)
      return await run(name, args)
    },
  })
}

/** The registry's tools (all, or those named) as model tools, described as registered. */
export async function registryTools(client: ToolsClient, names?: ReadonlyArray<string>, o: { readonly highImpact?: ReadonlyArray<string> } = {}): Promise<Tool[]> {
  const listed = await client.list()
  const missing = (names ?? []).filter((n) => !listed.some((t) => t.name === n))
  if (missing.length > 0) throw new ToolError("not_found", `tenant ${client.tenant} has no tool ${missing.join(", ")}`)
  return listed
    .filter((t) => !names || names.includes(t.name))
    .map((t) =>
      jsonTool({
        name: t.name,
        description: t.deprecated ? `${t.description} (deprecated: use ${t.deprecated.replacement})` : t.description,
        schema: t.schema,
        ...(o.highImpact?.includes(t.name) ? { impact: "high" as const } : {}),
        run: async (args, ctx) => (ctx.askAgent.runTool ? await ctx.askAgent.runTool(t.name, args) : (await client.run(t.name, args)).value),
      }),
    )
}
