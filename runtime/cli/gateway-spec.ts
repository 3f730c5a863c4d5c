/**
 * The declarations of `ants gateway` and `ants schema` (listed in commands.ts with the others):
 * pure data, like every declaration, so `--help` loads nothing of the gateway.
 */
import { defineCommand } from "./command-spec.ts"
import { CREDENTIALS } from "./credentials-spec.ts"
import { text } from "./option.ts"

export const GATEWAY = defineCommand({
  name: "gateway",
  summary: "serve the HTTP gateway and the dashboard in front of a swarm",
  args: {
    args: "",
    min: 0,
    max: 0,
    summary:
      "Asks, tells, streamed asks (Server-Sent Events), wakes, tasks, dead letters, the agent types with their JSON Schemas, an OpenAPI document, Agent2Agent for conversational types and the dashboard (/dashboard), over HTTP. Every request needs a bearer token. Stops on SIGINT/SIGTERM.",
  },
  options: {
    listen: text("<host:port>", "the address to listen on (port 0: a free one)").withDefault("127.0.0.1:8080"),
    agents: text("<module>", "module exporting the agent types to describe (discovery, OpenAPI, Agent2Agent); repeat for several").repeatable(),
    tokens: text("<file>", 'tokens file: {"tokens":[{"token" or "tokenSha256", "tenant" or "operator":true, "nkey"?, "creds"?, "name"?}]}').defaultIs(
      "one operator token made for this run and printed",
    ),
    "auth-dir": text("<dir>", "the folder `ants auth init` wrote: a tenant token acts with <dir>/tenants/<tenant>.nk, an operator token with <dir>/operator.nk, so the server enforces each token's tenant"),
    nats: text("<url[,url]>", "the NATS server (or cluster, comma-separated) to talk to").defaultIs(
      "$NATS_URL, else the embedded server of a node running on this machine, else nats://127.0.0.1:4222",
    ),
    ...CREDENTIALS,
  },
  notes: [
    "A tenant token acts for its tenant only; an operator token picks one with ?tenant= and may read nodes, actors and dead letters.",
    "The routes are listed in /v1/openapi.json; the README's gateway section explains them.",
  ],
  examples: ["npx ants gateway --agents ./actors/examples/index.ts --listen :0"],
  connects: false,
})

export const SCHEMA = defineCommand({
  name: "schema",
  summary: "print the JSON Schemas of an agent type's messages and replies",
  args: { args: "<type>", min: 1, max: 1, summary: "Prints {type, tags: {<Tag>: {message, reply, description?}}}: the JSON Schema each message body must fit and the one its reply value fits, for clients in other languages." },
  options: {
    agents: text("<module>", "module exporting the agent type (as for `ants node`)").repeatable().required(),
    tag: text("<Tag>", "only this tag").defaultIs("every tag"),
  },
  examples: ["npx ants schema counter --agents ./actors/examples/index.ts", "npx ants schema assistant --agents ./actors/examples/index.ts --tag Chat --json"],
  connects: false,
})
