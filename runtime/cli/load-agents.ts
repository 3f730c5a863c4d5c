/** The agents modules `ants node --agents` and `ants turn replay --agents` take. */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { isAgentDefinition, type AgentDefinition } from "../agent/define-agent.ts"
import { CliError } from "./client-connection.ts"

/** Loads agent definitions from a module: its default export, an `agents` array, or every exported definition. */
export async function loadAgents(modulePath: string): Promise<AgentDefinition[]> {
  const abs = resolve(modulePath)
  if (!existsSync(abs)) throw new CliError(`agents module ${modulePath} does not exist (resolved to ${abs})`, 2)
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>
  } catch (e) {
    const message = (e as Error).message ?? String(e)
    // a TypeScript or .js module with import/export in a package that says CommonJS (npm init's default)
    const esm = /require\(\) (of )?ES Module|ERR_REQUIRE_ESM|Cannot use import statement outside a module|exports is not defined in ES module scope/i.test(message)
    const hint = esm ? ` (the module is an ES module but its package.json says CommonJS: set "type": "module" there, \`npm pkg set type=module\`, or name the module .mts/.mjs)` : ""
    throw new CliError(`cannot load agents module ${modulePath}: ${message}${hint}`, 2)
  }
  const found = new Map<string, AgentDefinition>()
  const add = (v: unknown) => {
    if (isAgentDefinition(v)) found.set(v.type, v)
    else if (Array.isArray(v)) v.forEach(add)
  }
  add(mod.default)
  add(mod.agents)
  for (const v of Object.values(mod)) add(v)
  if (found.size === 0) {
    throw new CliError(`${modulePath} exports no agent definitions: export values made with defineAgent (or an \`agents\` array)`, 2)
  }
  return [...found.values()]
}
