/**
 * The declarations of the tool layer on the command line: `ants tool register|list|show|run|
 * deprecate` and `ants mcp`. Pure data, like commands.ts, which lists them among the commands
 * and hands in the option builders every client command shares.
 */
import type { Opt } from "./option.ts"
import { defineCommand, type Form } from "./command-spec.ts"
import { list, oneOf, text } from "./option.ts"

/** Mirrors TOOL_LEVELS in runtime/tools/types.ts (test/tools checks it). */
export const TOOL_LEVEL_NAMES = ["restricted", "moderate", "permissive"] as const

const ADD_SOURCE = "export default async ({ a, b }) => ({ sum: a + b })"
const ADD_SCHEMA = '{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}'

/** The builders commands.ts shares with its client commands. */
interface Shared<W> {
  readonly tenant: () => Opt<string, "defaulted">
  readonly clientWaiting: (what: string, ms: number) => W
  readonly noArgs: (summary: string) => Form
}

export function toolCommands<W extends Record<string, Opt<any, any>>>({ tenant, clientWaiting, noArgs }: Shared<W>) {
  const TOOL = defineCommand({
    name: "tool",
    summary: "register, list, run and deprecate the tenant's tools (code plus schema, run in the sandbox)",
    subcommands: {
      register: {
        args: "<name>",
        min: 1,
        max: 1,
        summary: "store a new version of a tool: an ES module whose default export is an async function from its JSON arguments to a JSON result; it starts in testing and becomes active after 10 successful runs at a success rate of at least 0.9",
      },
      list: noArgs("the tenant's tools: version, level, status, runs, success rate, mean duration, last use"),
      show: { args: "<name>", min: 1, max: 1, summary: "one tool: its schemas, status, statistics and deprecation" },
      run: { args: "<name> ['<json args>']", min: 1, max: 2, summary: "run the tool's current version in the sandbox with these arguments (default {}) and print its result" },
      deprecate: { args: "<name>", min: 1, max: 1, summary: "mark a tool deprecated in favour of another (it still runs; list, run and agents name the replacement)" },
      import: {
        args: "<openapi.json|url>",
        min: 1,
        max: 1,
        summary: "register one tool per operation of an OpenAPI 3 document (JSON file or URL), run in the restricted sandbox with fetch allowed only to the document's server; credentials are read from the environment variables named",
      },
    },
    options: {
      file: text("<js>", "the module's file").onlyFor("register"),
      source: text("<js>", "the module's text, instead of --file").onlyFor("register"),
      schema: text("<json|file>", "the arguments' JSON Schema, as JSON or a .json file").onlyFor("register"),
      "result-schema": text("<json|file>", "the result's JSON Schema: a result that does not fit is a failed run").onlyFor("register"),
      level: oneOf(TOOL_LEVEL_NAMES, "the sandbox level it runs at").withDefault("restricted").onlyFor("register"),
      description: text("<text>", "what the tool does (what a model reads)").defaultIs("none").onlyFor("register"),
      "fetch-allow": list("<origin,...>", "origins the tool may fetch (e.g. https://api.example.com)").defaultIs("none").onlyFor("register"),
      replacement: text("<name>", "the tool to use instead (required)").onlyFor("deprecate"),
      prefix: text("<p>", "put before each operation's tool name (<p>_<operationId>)").onlyFor("import"),
      "base-url": text("<url>", "the server to call instead of the document's first servers entry").onlyFor("import"),
      "bearer-env": text("<VAR>", "send Authorization: Bearer <the value of $VAR>").onlyFor("import"),
      "api-key-env": text("<VAR>", "send the value of $VAR as an API key (with --api-key-header or --api-key-query)").onlyFor("import"),
      "api-key-header": text("<name>", "the header the API key goes in").onlyFor("import"),
      "api-key-query": text("<name>", "the query parameter the API key goes in").onlyFor("import"),
      reason: text("<text>", "why it is deprecated").onlyFor("deprecate"),
      tenant: tenant(),
      ...clientWaiting("how long to wait for the registry's answer (run: for the tool's result)", 130_000),
    },
    notes: [
      "The registry is served by the runtime nodes (ants.<tenant>.tools.<Op>): a node must be running. A tenant's principal reaches only its own tools.",
      "Credentials of an imported API are read from the environment at import time and stored with the tools' versions in the tenant's registry (the model never sees them); they are never given on the command line.",
      "Exit 1 when the registry refuses (unknown tool, arguments that do not fit the schema: the issues are printed) or the run fails.",
    ],
    examples: [
      `npx ants tool register add --source '${ADD_SOURCE}' --schema '${ADD_SCHEMA}' --description "Adds two numbers"`,
      `npx ants tool run add '{"a":2,"b":3}'`,
      "npx ants tool list",
      "npx ants tool show add --json",
    ],
    connects: true,
  })

  const MCP = defineCommand({
    name: "mcp",
    summary: "serve the tenant's agents and tools to MCP clients (stdio, or Streamable HTTP with --http)",
    args: noArgs(
      "An MCP server: each tag of the agent types in --agents becomes a tool (<type>_<Tag>, its arguments the tag's message plus the actor id), and so does each of the tenant's registry tools; calls become asks and registry runs over NATS with this command's credentials. On stdio by default (what MCP clients spawn); with --http it listens for Streamable HTTP on that address and refuses any request without the bearer token.",
    ),
    options: {
      agents: text("<module>", "module exporting the agent types to offer (as `ants node --agents`)").repeatable().defaultIs("none: registry tools only"),
      http: text("<addr>", "serve Streamable HTTP on host:port or port (host 127.0.0.1 unless given) instead of stdio"),
      "http-token": text("<secret>", "the bearer token HTTP clients must send (Authorization: Bearer <secret>)").defaultIs("$ANTS_MCP_TOKEN; --http refuses to start without one"),
      tenant: tenant(),
      ...clientWaiting("how long an agent's answer or a tool's run may take", 130_000),
    },
    notes: [
      "Claude Desktop or any MCP client: command `npx`, args `ants mcp --agents ./actors/examples/index.ts`, with NATS_URL and credentials in its environment.",
    ],
    examples: ["npx ants mcp --help"],
    connects: true,
  })
  return { TOOL, MCP }
}
