/**
 * The declaration of every `ants` command: what it does, what it takes, its options with their
 * types and defaults, and examples that work as printed against a node running the example
 * agents (`npx ants node --agents ./actors/examples/index.ts`). Help, parsing and validation are
 * derived from these (command-spec.ts); the commands' modules are loaded only to run them.
 *
 * Pure data and small parsers: nothing here imports the runtime, NATS or Effect, so `--help` is
 * fast. Lists that mirror runtime constants (priorities, strength levels, pheromone types,
 * decay curves, benchmark scenarios, node defaults) are checked against them by test/cli.
 */
import { DEFAULT_TENANT } from "../../subjects/grammar.ts"
import { defineCommand, type CommandSpec } from "./command-spec.ts"
import { custom, duration, flag, int, intList, json, list, oneOf, text, time } from "./option.ts"
import { UsageError } from "./usage-error.ts"
import { clientOptions, CREDENTIALS } from "./credentials-spec.ts"
import { CHAOS } from "./chaos-spec.ts"
import { TOOL_LEVEL_NAMES, toolCommands } from "./tool-spec.ts"
import { APPROVALS, AUDIT, GOVERNANCE_COMMANDS, POLICY } from "./governance-spec.ts"
import { checkMemoryStore, EMBEDDING_NAMES, MEMORY, MEMORY_KIND_NAMES, memoryStore } from "./memory-spec.ts"
import { SCHEDULES } from "./schedule-spec.ts"
// ── gateway (runtime/gateway) ──
import { GATEWAY, SCHEMA } from "./gateway-spec.ts"
export { GATEWAY, SCHEMA }
// ── end gateway ──

export { APPROVALS, AUDIT, CHAOS, POLICY, SCHEDULES, checkMemoryStore, EMBEDDING_NAMES, MEMORY, MEMORY_KIND_NAMES, TOOL_LEVEL_NAMES }

const tenant = () => text("<tenant>", "the tenant").withDefault(DEFAULT_TENANT)
const client = clientOptions
/** The same, and how long the command waits for answers (`what`), by default `ms`. */
const clientWaiting = (what: string, ms: number) => ({ ...client(), timeout: duration("<ms>", what).withDefault(ms) })
/** A command or subcommand without positional arguments. */
const noArgs = (summary: string) => ({ args: "", min: 0, max: 0, summary })

export const NODE = defineCommand({
  name: "node",
  summary: "run a runtime node hosting agent types",
  args: noArgs(
    "Hosts every agent type the modules export. Without --nats or NATS_URL it starts an embedded nats-server (free port, temporary store) that stops with the node, and other ants commands on this machine find it. SIGINT/SIGTERM drain the node (in-flight messages finish, state is checkpointed) and exit 0; a second signal exits at once with 1.",
  ),
  options: {
    agents: text("<module>", "module exporting defineAgent values (TypeScript or JavaScript: its default export, an `agents` array, or named exports), e.g. ./actors/examples/index.ts; repeat for several")
      .repeatable()
      .required(),
    nats: text("<url[,url]>", "join this NATS server or cluster").defaultIs("$NATS_URL, else an embedded nats-server"),
    "node-id": text("<id>", "this node's id in the swarm").defaultIs("node-<random>"),
    "passivate-after": duration("<ms>", "idle time before an on_demand actor is put to sleep, for types that set none", { min: 0 }).defaultIs("300000 (5 min)"),
    mailbox: int("<n>", "bound of each actor's mailbox").defaultIs("1000"),
    replicas: int("<n>", "JetStream replicas of the runtime's buckets and streams").defaultIs("the cluster's server count, at most 3; 1 on a single server"),
    models: text("<file>", "a models file (providers, models, prices, rules, budgets) for the agents' ctx.model").defaultIs(
      "OPENAI_* / ANTHROPIC_* environment variables, else the offline provider",
    ),
    verbose: flag("log info-level events on stderr (warnings and errors always are)"),
    ...memoryStore("where the agents' ctx.memory lives"),
    "no-memory": flag("no memory on this node: ctx.memory calls answer unavailable, conversational agents keep no turns"),
    "auth-dir": text("<dir>", "the folder `ants auth init` wrote: each tenant's actors act through that tenant's own connection, so the server enforces its permissions"),
    tenants: list("<t1,t2>", "serve only these tenants; messages to others are answered forbidden").defaultIs("every tenant"),
    http: text("<addr>", "serve GET /metrics (Prometheus) and /healthz on host:port, :port or port (127.0.0.1 unless a host is given; another host needs ANTS_HTTP_TOKEN)").defaultIs("no HTTP listener"),
    ...CREDENTIALS,
  },
  notes: [
    "With --json the node prints one JSON event a line on stdout (ready, stopped) and logs JSON on stderr.",
    "Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (and OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or http/json, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER) and the node exports OpenTelemetry spans over OTLP/HTTP; without them tracing is off.",
    "Memory opens on first use: the PostgreSQL of --postgres (or DATABASE_URL, checked at start), else the embedded database in --data-dir, which other ants commands and nodes of this machine then reach through this node.",
  ],
  examples: ["npx ants node --agents ./actors/examples/index.ts", "npx ants node --agents ./actors/examples/index.ts --nats nats://127.0.0.1:4222 --node-id n1 --json"],
  connects: false,
})

export const DEMO = defineCommand({
  name: "demo",
  summary: "start an embedded swarm of example agents, drive it, print what happened",
  args: noArgs(
    "Starts a node with the example agents, drives many counter actors with ask, crashes one for supervision, sends a bad body, runs durable tasks (one dead-lettered), lets four foragers share work through pheromones, has the example assistant answer through a model (the offline provider when no key is set), prints figures read back from the system, and drains. Exit 0 when every figure is as expected.",
  ),
  options: {
    nats: text("<url>", "use this NATS server instead of an embedded one").defaultIs("an embedded nats-server"),
    actors: int("<n>", "counter actors driven at once").withDefault(50),
    messages: int("<n>", "concurrent Add messages per counter actor").withDefault(40),
  },
  examples: ["npx ants demo", "npx ants demo --actors 10 --messages 5 --json"],
  connects: false,
})

const SUBJECT_NOTE = "A subject is ants.<tenant>.agent.<type>.<id>.<Tag> (tokens: letters, digits, _ and -). The body is JSON (default {}); quote it for the shell."

export const ASK = defineCommand({
  name: "ask",
  summary: "send a request to an agent and print the reply envelope",
  args: { args: "<subject> ['<json>']", min: 1, max: 2, summary: "Prints the reply envelope, {\"ok\":true,\"value\":...} or {\"ok\":false,\"error\":{\"code\",\"message\"}}, and exits 1 on an error envelope." },
  options: {
    ...client(),
    timeout: duration("<ms>", "how long to wait for the reply").defaultIs("5000; with --stream 60000"),
    stream: flag("print the answer as it is written, then the reply envelope: the ask carries the header Ants-Stream (conversational agents stream their turn there; any handler can, through ctx.streamId)"),
  },
  notes: [SUBJECT_NOTE, "The runtime tag _Inspect (no body) returns one actor's accounting; _Wake activates it."],
  examples: [
    `npx ants ask ants.default.agent.echo.e1.Say '{"text":"hi"}'`,
    `npx ants ask ants.default.agent.counter.c1.Add '{"n":1}' --json`,
    "npx ants ask ants.default.agent.counter.c1._Inspect",
    `npx ants ask ants.default.agent.assistant.a1.Chat '{"text":"counter_add id=c7 n=5"}' --stream`,
  ],
  connects: true,
})

export const TELL = defineCommand({
  name: "tell",
  summary: "send a message to an agent without waiting for a reply",
  args: { args: "<subject> ['<json>']", min: 1, max: 2, summary: "Publishes the message and returns once the server has it; nothing says whether an agent handled it (use ask for that)." },
  options: client(),
  notes: [SUBJECT_NOTE],
  examples: [`npx ants tell ants.default.agent.counter.c1.Add '{"n":2}'`],
  connects: true,
})

export const WAKE = defineCommand({
  name: "wake",
  summary: "wake an actor: one by id, any instance of a type, or a new one",
  args: {
    args: "<type> [<id>]",
    min: 1,
    max: 2,
    summary:
      "With an id, sends the runtime tag _Wake to that actor: the node that owns it activates it (from its checkpoint, if any). Without one, any node hosting the type wakes an instance asleep (or stored), or a new one when there is none (or with --new), and replies its id. --keep-alive keeps it awake at least that many minutes, then the normal lifecycle applies.",
  },
  options: {
    tenant: tenant(),
    new: flag("wake a new instance of the type (no id), even when one is asleep"),
    reason: text("<text>", "why the actor is woken (logged by the node)"),
    "keep-alive": custom("<minutes>", "keep the actor awake at least this many minutes (fractions allowed, e.g. 0.5)", (raw, f) => {
      const n = Number(raw)
      if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > 525_600) throw new UsageError(`${f} must be a number of minutes from 0 to 525600, got "${raw}"`)
      return n
    }),
    ...clientWaiting("how long to wait for the node's answer", 5000),
  },
  examples: ["npx ants wake counter c1", "npx ants wake counter --reason 'month-end close' --keep-alive 5", "npx ants wake echo --new --json"],
  connects: true,
})

export const NODES = defineCommand({
  name: "nodes",
  summary: "list runtime nodes: members, partitions owned, actors by state",
  args: noArgs("Every node answers a broadcast within the timeout; prints state, partitions, actors by state, leases and the guarantees on the server. Exit 1 when no node answered."),
  options: clientWaiting("how long to gather answers", 1000),
  examples: ["npx ants nodes", "npx ants nodes --json --timeout 2000"],
  connects: true,
})

export const ACTORS = defineCommand({
  name: "actors",
  summary: "where each actor of a type lives, and its state",
  args: noArgs("Lists every actor of the type the nodes hold (active, idle, warming or sleeping) and the node it is on. Exit 1 when no node answered."),
  options: {
    type: text("<type>", "the agent type").required(),
    tenant: text("<tenant>", "only this tenant").defaultIs("every tenant"),
    limit: int("<n>", "at most this many actors from each node").defaultIs("10000"),
    ...clientWaiting("how long to gather answers", 1000),
  },
  examples: ["npx ants actors --type counter", "npx ants actors --type counter --tenant default --limit 100 --json"],
  connects: true,
})

export const COST = defineCommand({
  name: "cost",
  summary: "compute per type and per tenant (activations, active and sleeping time, priced) beside model spend (calls, tokens, money)",
  args: noArgs(
    "Prices each type's and each tenant's active and sleeping agent-hours, summed over every node that ever ran (lasting totals in KV, so they survive restarts: about $0.21 per active agent-hour, $0.01 per sleeping one), next to what the same hours would cost kept always on, and beside it each type's and each tenant's model calls, tokens and spend (from providers' usage and the models file's prices; --type and --tenant narrow both). Exit 1 when nothing was recorded and no node answered.",
  ),
  options: {
    type: text("<type>", "only this agent type").defaultIs("every type"),
    tenant: text("<tenant>", "only this tenant").defaultIs("every tenant"),
    ...clientWaiting("how long the nodes have to store what they metered", 1000),
  },
  examples: ["npx ants cost", "npx ants cost --type counter --json", "npx ants cost --tenant default"],
  connects: true,
})

/** Mirrors STRENGTH_LEVELS in subjects/pheromones.ts (test/cli checks it). */
export const STRENGTH_LEVEL_NAMES = ["trace", "low", "medium", "high", "critical"] as const
/** Mirrors PHEROMONE_TYPES and DECAY_CURVES in subjects/pheromones.ts. */
export const PHEROMONE_TYPE_NAMES = ["task", "resource", "danger", "success", "capability", "load", "coordination"] as const
export const DECAY_CURVE_NAMES = ["linear", "exponential"] as const

/** A strength: a number from 0 to 1, or a level name. */
export function parseStrength(raw: string, f: string): number | (typeof STRENGTH_LEVEL_NAMES)[number] {
  if ((STRENGTH_LEVEL_NAMES as ReadonlyArray<string>).includes(raw)) return raw as (typeof STRENGTH_LEVEL_NAMES)[number]
  const n = Number(raw)
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new UsageError(`${f} must be a number from 0 to 1 or one of ${STRENGTH_LEVEL_NAMES.join(", ")}, got "${raw}"`)
  }
  return n
}
const strength = (description: string) => custom("<S>", description, parseStrength)

export const PHEROMONE = defineCommand({
  name: "pheromone",
  summary: "deposit, reinforce, detect, watch or evaporate pheromones",
  subcommands: {
    deposit: { args: "--type <T> --location <L>", min: 0, max: 0, summary: "lay a trail at a location (replacing one with the same id, or reinforcing it with --reinforce)" },
    reinforce: { args: "<key> | --location <L> --id <X>", min: 0, max: 1, summary: "strengthen a live trail (strengths add, capped at 1; the TTL restarts)" },
    detect: noArgs("list the live trails under a location, strongest first"),
    watch: noArgs("print trails as they are deposited, reinforced and evaporate, until Ctrl-C, --count or --timeout"),
    evaporate: { args: "<key> | --location <L> --id <X>", min: 0, max: 1, summary: "remove a trail now" },
  },
  options: {
    type: text("<T>", `pheromone type: ${PHEROMONE_TYPE_NAMES.join(", ")}`).onlyFor("deposit"),
    location: text("<L>", "dotted location, e.g. integrations.stripe (detect and watch: everything under it)"),
    id: text("<X>", "the trail's id at its location (a key is <tenant>.<location>.<id>)").defaultIs("deposit: <type>-<unique>").onlyFor("deposit", "reinforce", "evaporate"),
    strength: strength(`0..1 or ${STRENGTH_LEVEL_NAMES.join("|")} (0.1, 0.3, 0.5, 0.7, 1)`).defaultIs("the type's default").onlyFor("deposit", "reinforce"),
    ttl: duration("<D>", "time to live: 500ms, 60s, 5m, 1h or milliseconds").defaultIs("the type's default").onlyFor("deposit", "reinforce"),
    decay: oneOf(DECAY_CURVE_NAMES, "how strength fades over the TTL").defaultIs("the type's default").onlyFor("deposit"),
    data: json("<JSON>", "data carried by the trail", '{"status":429}').onlyFor("deposit", "reinforce"),
    reinforce: flag("reinforce the trail if one with this id is live, instead of replacing it").onlyFor("deposit"),
    types: list("<a,b>", "only these types (comma-separated)").defaultIs("every type").onlyFor("detect", "watch"),
    min: strength("only trails at least this strong now").defaultIs("0").onlyFor("detect"),
    limit: int("<n>", "at most this many trails").defaultIs("all").onlyFor("detect"),
    exact: flag("only trails exactly at --location, not below it").onlyFor("detect"),
    count: int("<n>", "stop after this many events").onlyFor("watch"),
    timeout: duration("<D>", "stop after this long").onlyFor("watch"),
    tenant: tenant(),
    emitter: text("<E>", "who deposits (recorded on the trail)").withDefault("cli"),
    ...client(),
  },
  notes: [
    "With --json every result is one JSON document (watch: one line per event); a refusal prints {\"ok\":false,\"error\":{code,message}} and exits 1, a usage error {\"ok\":false,\"error\":{\"code\":\"usage\",...}} and exits 2.",
  ],
  examples: [
    `npx ants pheromone deposit --type danger --location integrations.stripe --id rate-limit --strength high --ttl 60s --data '{"status":429}'`,
    "npx ants pheromone reinforce --location integrations.stripe --id rate-limit --strength low",
    "npx ants pheromone detect --location integrations --types danger --min 0.2",
    "npx ants pheromone watch --location integrations --count 10 --timeout 2s",
    "npx ants pheromone evaporate default.integrations.stripe.rate-limit",
  ],
  connects: true,
})

/** Mirrors PRIORITIES in subjects/tasks.ts (test/cli checks it). */
export const PRIORITY_NAMES = ["critical", "high", "normal", "low", "background"] as const

/** A priority as written: a name, or a whole number (the task engine checks 1..10 and says so). */
export function parsePriority(raw: string, f: string): (typeof PRIORITY_NAMES)[number] | number {
  if ((PRIORITY_NAMES as ReadonlyArray<string>).includes(raw)) return raw as (typeof PRIORITY_NAMES)[number]
  if (/^\d+$/.test(raw)) return Number(raw)
  throw new UsageError(`${f} must be one of ${PRIORITY_NAMES.join(", ")} or a whole number from 1 to 10, got "${raw}"`)
}

export const TASK = defineCommand({
  name: "task",
  summary: "submit a durable task or ask its status",
  subcommands: {
    submit: { args: "<capability> ['<json payload>']", min: 1, max: 2, summary: "store a task for a capability (dotted, e.g. example.work) until a worker finishes it; the payload defaults to null" },
    status: { args: "<id>", min: 1, max: 1, summary: "print a task's record: pending, scheduled, claimed, completed (result), failed, dead_lettered (reason)" },
  },
  options: {
    priority: custom("<P>", "critical (10), high (7), normal (5), low (3), background (1), or 1..10", parsePriority).defaultIs("normal").onlyFor("submit"),
    key: text("<K>", "idempotency key, which becomes the task id: submitting twice stores one task").defaultIs("a generated id").onlyFor("submit"),
    session: text("<S>", "tasks of one session run one at a time, in submission order").onlyFor("submit"),
    "not-before": time("<T>", "not delivered before this time").onlyFor("submit"),
    deadline: time("<T>", "dead-lettered (deadline_exceeded) if not started by this time").onlyFor("submit"),
    tenant: tenant(),
    ...client(),
  },
  notes: [
    "Times T: ISO-8601 (2026-01-31T09:00:00Z), epoch milliseconds, or relative: +500ms, +30s, +5m, +24h.",
    "Exit 1 when the task engine refuses a submission (it says why) or a task is not found.",
  ],
  examples: [
    `npx ants task submit example.work '{"ms":100}' --priority high --key order-42`,
    `npx ants task submit example.work '{"ms":10}' --session customer-7 --not-before +1m --deadline +1h`,
    "npx ants task status order-42",
    `npx ants task submit example.work '{"fail":true}' --key broken-1`,
  ],
  connects: true,
})

export const DLQ = defineCommand({
  name: "dlq",
  summary: "list, inspect, resubmit or purge dead-lettered tasks",
  subcommands: {
    list: noArgs("the tenant's dead letters, oldest first"),
    show: { args: "<id>", min: 1, max: 1, aliases: ["inspect"], summary: "one dead letter: payload, attempts, last error, reason" },
    resubmit: { args: "<id>", min: 1, max: 1, summary: "submit the task again (fresh attempts, same id) and remove the dead letter" },
    purge: { args: "[<id>]", min: 0, max: 1, summary: "remove one dead letter, or every dead letter of the tenant" },
  },
  options: {
    limit: int("<n>", "at most this many").defaultIs("all").onlyFor("list"),
    tenant: tenant(),
    ...client(),
  },
  notes: [
    `A task lands here when its last attempt fails, when it is rejected, or when its deadline passes. The examples below show the one \`npx ants task submit example.work '{"fail":true}' --key broken-1\` leaves after its 3 attempts. A malformed_payload one cannot be resubmitted: submit a corrected task and purge it.`,
  ],
  examples: ["npx ants dlq list", "npx ants dlq show broken-1", "npx ants dlq resubmit broken-1", "npx ants dlq purge --json"],
  connects: true,
})

export const TENANT = defineCommand({
  name: "tenant",
  summary: "suspend or resume a tenant (the kill switch), set its quotas, or show them",
  subcommands: {
    suspend: {
      args: "<tenant>",
      min: 1,
      max: 1,
      summary: "within seconds every actor of the tenant on every node is stopped (state checkpointed), its messages are answered forbidden with the reason, its tasks wait; stored, so it survives node restarts",
    },
    resume: { args: "<tenant>", min: 1, max: 1, summary: "lift a suspension" },
    show: { args: "<tenant>", min: 1, max: 1, summary: "whether the tenant is suspended (why, since when, by whom) and its quotas" },
    quota: { args: "<tenant>", min: 1, max: 1, summary: "set the tenant's quotas (the ones given; the nodes' defaults apply to the others)" },
  },
  options: {
    reason: text("<text>", "why: stored, and given to the tenant's callers (required)").onlyFor("suspend"),
    "max-actors": int("<n>", "actors of the tenant active at once", { min: 0 }).onlyFor("quota"),
    "messages-per-second": int("<n>", "messages to the tenant's actors per second").onlyFor("quota"),
    "kv-bytes": int("<n>", "bytes of actor state the tenant may keep", { min: 0 }).onlyFor("quota"),
    "task-backlog": int("<n>", "tasks of the tenant waiting at once", { min: 0 }).onlyFor("quota"),
    ...client(),
  },
  notes: ["Run it as the operator principal (e.g. --nkey auth/operator.nk). The record lives in a bucket every node watches."],
  examples: [
    `npx ants tenant suspend acme --reason "invoice unpaid"`,
    "npx ants tenant show acme --json",
    "npx ants tenant resume acme",
    "npx ants tenant quota acme --max-actors 1000 --messages-per-second 500",
  ],
  connects: true,
})

export const AUTH = defineCommand({
  name: "auth",
  summary: "write the principals (nodes, operator, tenants) and the server configuration that knows them",
  subcommands: {
    init: {
      args: "",
      min: 0,
      max: 0,
      summary:
        "writes <out>/auth.conf (nkey users and their permissions), <out>/nats.conf (a complete single server), <out>/routes.conf (cluster route credentials) and the seeds node.nk, operator.nk, tenants/<tenant>.nk (0600, in a 0700 folder)",
    },
  },
  options: {
    tenants: list("<t1,t2>", "the tenants to make principals for").required(),
    out: text("<dir>", "the folder to write (the shipped nats.conf includes auth/auth.conf: use --out auth next to it)").required(),
    routes: list("<host:port,...>", "cluster routes to write into routes.conf").defaultIs("none"),
    force: flag("replace an existing folder's keys (every principal's seed changes)"),
  },
  examples: ["npx ants auth init --tenants acme --out ./auth", "npx ants auth init --tenants acme,globex --out auth-cluster --routes ants-a:6222,ants-b:6222,ants-c:6222 --json"],
  connects: false,
})

/** Mirrors SCENARIOS in bench/scenarios/index.ts (test/cli checks it). */
export const BENCH_SCENARIO_NAMES = ["ask", "ask-auth", "tell", "activation", "memory", "scale", "pheromones", "tasks", "swarm", "failover", "models", "llm-swarm", "noisy-neighbour", "task-failover", "tracing", "recall", "tools", "gateway"] as const

export const BENCH = defineCommand({
  name: "bench",
  summary: "run benchmark scenarios against raw NATS baselines",
  args: {
    args: "[scenario...]",
    min: 0,
    max: BENCH_SCENARIO_NAMES.length,
    summary:
      "Runs the scenarios (all when none is named) against an embedded nats-server, or the server given with --nats, each against a raw NATS baseline measured in the same run, and writes figures.jsonl, report.md, headline.md and chart.svg into the results folder. It reports targets and never asserts them.",
  },
  options: {
    quick: flag("run every scenario briefly (a smoke run, well under 2 minutes)"),
    nats: text("<url>", "use this NATS server instead of an embedded nats-server -js").defaultIs("an embedded nats-server"),
    agents: int("<n>", "actors/agents per scenario (memory: actors; activation: actors per round; swarm: agents; failover: actors)").defaultIs("memory 100000; per scenario"),
    nodes: int("<k>", "node processes for swarm and failover").defaultIs("3; quick 2"),
    duration: int("<ms>", "measuring window of one round of ask, tell, pheromone deposit and reinforce").defaultIs("2000; quick 200"),
    tasks: int("<n>", "tasks per round (tasks; swarm)").defaultIs("tasks 4000, swarm 2000; quick 400, 120"),
    rounds: int("<r>", "baseline/ANTS alternation rounds, medians taken").defaultIs("5; quick 2"),
    rate: int("<n>", "offered rate per second (tell publishes, swarm tasks, failover asks)").defaultIs("per scenario"),
    payload: int("<bytes>", "message payload size", { min: 0 }).withDefault(64),
    concurrency: intList("<list>", "ask concurrency levels, comma-separated").withDefault([1, 16, 64]),
    out: text("<dir>", "results folder").defaultIs("bench-results/<timestamp>/"),
  },
  notes: [`Scenarios: ${BENCH_SCENARIO_NAMES.join(", ")}. With --json the figures are printed as JSON lines on stdout.`],
  examples: ["npx ants bench ask --quick", "npx ants bench ask tell --rounds 3 --concurrency 1,16", "npx ants bench --quick --out bench-results/smoke"],
  connects: false,
})

export const TURN = defineCommand({
  name: "turn",
  summary: "list, show or replay the journaled turns of conversational agents",
  subcommands: {
    list: noArgs("journaled turns of the tenant, oldest first"),
    show: { args: "<type>/<id>/<turn>", min: 1, max: 1, summary: "one turn: input, model answers, tool results, answer" },
    replay: {
      args: "<type>/<id>/<turn>",
      min: 1,
      max: 1,
      summary: "replay the recorded turn against the agent code in --agents (no model is called, no tool runs) and print where its choices diverge; exit 1 when they do",
    },
  },
  options: {
    type: text("<type>", "only turns of this agent type").onlyFor("list"),
    id: text("<id>", "only turns of this actor id").onlyFor("list"),
    agents: text("<module>", "module exporting the agent code to replay the turn against").onlyFor("replay"),
    tenant: tenant(),
    ...client(),
  },
  notes: ["A turn is named <type>/<id>/<turn>, as `turn list` prints it, e.g. assistant/a1/t0. Exit 1 when the turn is not found."],
  examples: ["npx ants turn list", "npx ants turn list --type assistant --json"],
  connects: true,
})

// ── tools (runtime/tools) ──
export const { TOOL, MCP } = toolCommands({ tenant, clientWaiting, noArgs })

/** Every command, in the order `ants --help` lists them. */
export const COMMANDS: ReadonlyArray<CommandSpec<any>> = [NODE, DEMO, ASK, TELL, WAKE, SCHEDULES, NODES, ACTORS, COST, TURN, PHEROMONE, TASK, DLQ, MEMORY, TOOL, MCP, TENANT, ...GOVERNANCE_COMMANDS, AUTH, BENCH, CHAOS, GATEWAY, SCHEMA]
